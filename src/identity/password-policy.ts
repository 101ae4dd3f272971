// Keystone's security compliance for passwords ([security_compliance] and the per-user options):
// strength, history, minimum age, expiry, change upon first use, lockout and MFA rules.
import type { Config } from '../config.ts';
import { BadRequestError } from '../platform/errors.ts';
import { verifyPassword } from './passwords.ts';
import type { UserRow } from './store.ts';

export interface UserOptions {
  ignore_change_password_upon_first_use?: boolean;
  ignore_password_expiry?: boolean;
  ignore_lockout_failure_attempts?: boolean;
  ignore_user_inactivity?: boolean;
  lock_password?: boolean;
  multi_factor_auth_enabled?: boolean;
  multi_factor_auth_rules?: string[][];
}

export type PasswordPolicyConfig = Pick<
  Config,
  'passwordExpiresDays' | 'uniqueLastPasswordCount' | 'minimumPasswordAgeDays' | 'changePasswordUponFirstUse' | 'passwordRegex' | 'passwordRegexDescription' | 'lockoutAttempts'
>;

const DAY_MS = 24 * 3600 * 1000;

export function optionsOf(user: UserRow): UserOptions {
  return user.options ? (JSON.parse(user.options) as UserOptions) : {};
}

/** When the user's password stops working (ISO time), or null when it does not expire. */
export function passwordExpiresAt(user: UserRow, config: PasswordPolicyConfig): string | null {
  if (!user.password_hash || !user.password_changed_at) return null;
  const options = optionsOf(user);
  if (user.password_must_change && !options.ignore_change_password_upon_first_use) return user.password_changed_at;
  if (config.passwordExpiresDays > 0 && !options.ignore_password_expiry) {
    return new Date(Date.parse(user.password_changed_at) + config.passwordExpiresDays * DAY_MS).toISOString();
  }
  return null;
}

export function passwordExpired(user: UserRow, config: PasswordPolicyConfig, now = Date.now()): boolean {
  const at = passwordExpiresAt(user, config);
  return at !== null && Date.parse(at) <= now;
}

/** Whether an administrator's new password must be changed at first use. */
export function mustChangeOnFirstUse(options: UserOptions, config: PasswordPolicyConfig): boolean {
  return config.changePasswordUponFirstUse && !options.ignore_change_password_upon_first_use;
}

export function checkStrength(password: string, config: PasswordPolicyConfig): void {
  if (config.passwordRegex && !config.passwordRegex.test(password)) {
    throw new BadRequestError(`Password validation error: ${config.passwordRegexDescription ?? 'the password does not meet the password requirements'}.`);
  }
}

/** A new password must not be one of the last `uniqueLastPasswordCount - 1` (the current one included). */
export async function checkHistory(password: string, history: string[], config: PasswordPolicyConfig): Promise<void> {
  const count = config.uniqueLastPasswordCount;
  if (count <= 1) return;
  for (const hash of history.slice(0, count - 1)) {
    if (await verifyPassword(password, hash)) {
      throw new BadRequestError(
        `The new password cannot be identical to a previous password. The total number which includes the new password must be unique is ${count}.`,
      );
    }
  }
}

/** A self-chosen password is kept `minimumPasswordAgeDays` before the user may change it again. */
export function checkMinimumAge(user: UserRow, config: PasswordPolicyConfig, now = Date.now()): void {
  if (config.minimumPasswordAgeDays <= 0 || !user.password_self_service || !user.password_changed_at) return;
  const allowedAt = Date.parse(user.password_changed_at) + config.minimumPasswordAgeDays * DAY_MS;
  if (now < allowedAt) {
    const daysLeft = Math.ceil((allowedAt - now) / DAY_MS);
    throw new BadRequestError(
      `You cannot change your password at this time due to the minimum password age. Once you change your password, it must be used for ${config.minimumPasswordAgeDays} day(s) before it can be changed. Please try again in ${daysLeft} day(s) or contact your administrator to reset your password.`,
    );
  }
}

export function countsFailures(user: UserRow, config: PasswordPolicyConfig): boolean {
  return config.lockoutAttempts > 0 && !optionsOf(user).ignore_lockout_failure_attempts;
}

/** With MFA enabled, the methods used must cover one of the user's rules. */
export function satisfiesMfa(user: UserRow, methods: string[]): boolean {
  const options = optionsOf(user);
  const rules = options.multi_factor_auth_rules ?? [];
  if (!options.multi_factor_auth_enabled || rules.length === 0) return true;
  return rules.some((rule) => rule.every((m) => methods.includes(m)));
}
