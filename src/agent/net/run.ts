// Runs the host's network tools (ip, iptables, nsenter) without a shell; stdin for iptables-restore.
// One place so every command the data plane issues is visible and its failure names the command.
import { spawn } from 'node:child_process';

export function runTool(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    // A tool that is missing or exits early must not turn our write into an unhandled EPIPE.
    child.stdin.on('error', () => {});
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
    child.stdin.end(input ?? '');
  });
}
