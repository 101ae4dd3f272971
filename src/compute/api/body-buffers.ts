// Reusable buffers for the longest answers (a page of 1,000 detailed servers is over a megabyte):
// written into memory already in use instead of fresh pages for every answer, and handed back when the answer is sent.
import type { FastifyReply } from 'fastify';

/** How many buffers are kept for reuse (more concurrent answers get buffers of their own). */
const KEEP = 4;
/** Sizes are rounded up to this, so that pages of slightly different lengths share buffers. */
const STEP = 256 * 1024;

const free: Buffer[] = [];

/**
 * A buffer of at least `size` bytes for `reply`'s body, taken back when the reply is closed (sent,
 * or its connection gone: the socket holds no part of it any longer).
 */
export function bodyBuffer(reply: FastifyReply, size: number): Buffer {
  const i = free.findIndex((b) => b.length >= size);
  const buffer = i >= 0 ? free.splice(i, 1)[0]! : Buffer.allocUnsafe(Math.ceil(size / STEP) * STEP);
  reply.raw.once('close', () => {
    if (free.length < KEEP) free.push(buffer);
  });
  return buffer;
}
