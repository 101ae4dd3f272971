// OS::Nova::KeyPair: an SSH key pair of the stack owner, imported (public_key) or generated; the
// private key of a generated pair is kept only when save_private_key asks. Its id is its name.
import type { ResourceType } from '../types.ts';
import { gone } from '../lookup.ts';

export const novaKeyPair: ResourceType = {
  type: 'OS::Nova::KeyPair',
  description: 'A resource for creating Nova key pairs.',
  properties: {
    name: { type: 'string', required: true, description: 'The name of the key pair.', constraints: [{ length: { min: 1, max: 255 } }] },
    save_private_key: { type: 'boolean', default: false, description: 'True if the system should remember a generated private key; False otherwise.' },
    public_key: { type: 'string', description: 'The optional public key. This allows users to supply the public key from a pre-existing key pair. If not supplied, a new key pair will be generated.' },
    type: { type: 'string', description: 'Keypair type.', constraints: [{ allowed_values: ['ssh'] }] },
  },
  attributes: {
    public_key: { description: 'The public key.', type: 'string' },
    private_key: { description: 'The private key if it has been saved.', type: 'string' },
  },
  async create(h, props) {
    const { keypair, privateKey } = await h.clients.compute.createKeypair(h.ctx, { keypair: { name: props.name, ...(props.public_key !== undefined ? { public_key: props.public_key } : {}) } });
    if (props.save_private_key && privateKey) h.data.private_key = privateKey;
    return keypair.name;
  },
  async delete(h, id) {
    await gone(() => h.clients.compute.deleteKeypair(h.ctx, id));
  },
  async check(h, id) {
    await h.clients.compute.keypair(h.ctx, id);
  },
  async attribute(h, id, name) {
    if (!id) return null;
    if (name === 'private_key') return (h.data.private_key as string | undefined) ?? '';
    const k = await h.clients.compute.keypair(h.ctx, id);
    if (name === 'public_key') return k.publicKey;
    if (name === 'show') return { name: k.name, public_key: k.publicKey, fingerprint: k.fingerprint, type: k.type, user_id: k.userId, created_at: k.createdAt };
    return null;
  },
};
