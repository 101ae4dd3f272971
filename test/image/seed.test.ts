// First start registers the busybox image once, public, and a second start leaves it alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCloud } from '../helpers/cloud.ts';
import { seedDemoImage } from '../../src/image/seed.ts';

describe('demo image seeding', () => {
  it('registers busybox once and every project sees it', async () => {
    const t = await startTestCloud('seed');
    try {
      const admin = await t.cloud.identity.service.store.projectByName('default', 'admin');
      const first = await seedDemoImage(t.cloud.image.service, admin!.id);
      const second = await seedDemoImage(t.cloud.image.service, admin!.id);
      assert.equal(first, second);
      const seen = await t.request('GET', '/image/v2/images?name=busybox', { token: await t.token('demo') });
      assert.equal(seen.body.images.length, 1);
      assert.equal(seen.body.images[0].status, 'active');
      assert.equal(seen.body.images[0].visibility, 'public');
      assert.equal(seen.body.images[0].container_format, 'docker');
    } finally {
      await t.close();
    }
  });
});
