// OS::Heat::MultipartMime: one MIME multipart message (cloud-init's user_data format) made of parts,
// each a software config (by id, its config text) or literal text; a `multipart` part has its own
// parts taken in. Kept as a software config, like Heat's.
import { randomInt } from 'node:crypto';
import type { ResourceHandle, ResourceType } from '../types.ts';
import { isNotFound } from '../../../platform/errors.ts';
import { TemplateError } from '../../template/model.ts';
import { heatSoftwareConfig } from './software-config.ts';

interface Part {
  config: string;
  filename?: string;
  type?: 'text' | 'multipart';
  subtype?: string;
}

/** A message's parts must stay a size a server's user_data can carry. */
const MAX_MESSAGE = 1 << 20;

const boundary = () => `===============${String(randomInt(1e9)).padStart(9, '0')}${String(randomInt(1e9)).padStart(10, '0')}==`;

/** One text part as Python's email.mime.text.MIMEText writes it (us-ascii 7bit, else utf-8 base64). */
export function textPart(body: string, subtype: string, filename: string): string {
  const ascii = /^[\x00-\x7f]*$/.test(body);
  const headers = [
    `Content-Type: text/${subtype}; charset="${ascii ? 'us-ascii' : 'utf-8'}"`,
    'MIME-Version: 1.0',
    `Content-Transfer-Encoding: ${ascii ? '7bit' : 'base64'}`,
    ...(filename ? [`Content-Disposition: attachment; filename="${filename.replace(/["\\\r\n]/g, '_')}"`] : []),
  ];
  const text = ascii ? body : (Buffer.from(body, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\n');
  return `${headers.join('\n')}\n\n${text}`;
}

/** The parts of a multipart message (each with its headers), or the whole text when it is none. */
export function subparts(message: string): string[] {
  const m = /^Content-Type:\s*multipart\/[^;\n]+;[^\n]*boundary="?([^"\n;]+)"?/im.exec(message);
  if (!m) return [message];
  const chunks = message.split(`--${m[1]}`);
  // The preamble before the first boundary and the epilogue after the closing one are not parts.
  return chunks.slice(1).filter((c) => !c.startsWith('--')).map((c) => c.replace(/^\r?\n/, '').replace(/\r?\n$/, ''));
}

/** The whole message: Python's MIMEMultipart (mixed) around the parts. */
export function multipartMessage(parts: string[]): string {
  const b = boundary();
  return `Content-Type: multipart/mixed; boundary="${b}"\nMIME-Version: 1.0\n\n${parts.map((p) => `--${b}\n${p}\n`).join('')}--${b}--\n`;
}

/** A part's text: the config of the software config it names (the caller's), else the text itself. */
async function partText(h: ResourceHandle, config: string): Promise<string> {
  if (!h.clients.software) return config;
  try {
    return String((await h.clients.software.showConfig(h.ctx, config)).config ?? '');
  } catch (err) {
    if (isNotFound(err)) return config;
    throw err;
  }
}

async function message(h: ResourceHandle, parts: Part[]): Promise<string> {
  const out: string[] = [];
  let size = 0;
  for (const p of parts) {
    const text = await partText(h, p.config);
    size += text.length;
    if (size > MAX_MESSAGE) throw new TemplateError(`The multipart message would be larger than ${MAX_MESSAGE} characters.`);
    if (p.type === 'multipart') out.push(...subparts(text));
    else {
      const filename = p.filename ?? '';
      // Heat's rule: without a subtype a file name's stem is the subtype; plain text otherwise.
      const subtype = p.subtype || (filename ? filename.replace(/\.[^.]*$/, '') : '') || 'plain';
      out.push(textPart(text, subtype, filename));
    }
  }
  return multipartMessage(out);
}

export const heatMultipartMime: ResourceType = {
  type: 'OS::Heat::MultipartMime',
  description: 'Assembles a collection of software configurations as a multi-part mime message.',
  properties: {
    group: { type: 'string', default: 'Heat::Ungrouped', description: 'Namespace to group this software config by when delivered to a server.' },
    parts: {
      type: 'list',
      default: [],
      description: 'Parts belonging to this message.',
      schema: {
        config: { type: 'string', required: true, description: 'Content of part to attach, either inline or by referencing the ID of another software config resource.' },
        filename: { type: 'string', description: 'Optional filename to associate with part.' },
        type: { type: 'string', default: 'text', constraints: [{ allowed_values: ['text', 'multipart'] }], description: 'Whether the part content is text or multipart.' },
        subtype: { type: 'string', description: 'Optional subtype to specify with the type.' },
      },
    },
  },
  attributes: heatSoftwareConfig.attributes,
  create: async (h, props) => heatSoftwareConfig.create(h, { group: props.group, config: await message(h, (props.parts as Part[] | undefined) ?? []) }),
  delete: heatSoftwareConfig.delete,
  attribute: heatSoftwareConfig.attribute,
};
