// The MIME message MultipartMime makes: text parts as Python's MIMEText writes them, a multipart
// part's own parts taken in, and the whole readable back part by part.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { multipartMessage, subparts, textPart } from './multipart-mime.ts';
import { cloudConfigText } from './cloud-config.ts';

describe('multipart MIME for user data', () => {
  it('writes ASCII parts as 7bit text and others as base64 utf-8, with their file name', () => {
    assert.equal(textPart('echo hi\n', 'x-shellscript', 'boot.sh'), 'Content-Type: text/x-shellscript; charset="us-ascii"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename="boot.sh"\n\necho hi\n');
    const utf8 = textPart('grüße', 'plain', '');
    assert.match(utf8, /charset="utf-8"/);
    assert.equal(Buffer.from(utf8.split('\n\n')[1]!, 'base64').toString('utf8'), 'grüße');
    assert.match(textPart('x', 'plain', 'a"b\r\nc'), /filename="a_b__c"/);
  });

  it('wraps parts in one multipart/mixed message and reads them back, nested ones flattened', () => {
    const inner = multipartMessage([textPart('one', 'plain', ''), textPart('two', 'plain', '')]);
    assert.match(inner, /^Content-Type: multipart\/mixed; boundary="={15}\d{19}=="\nMIME-Version: 1.0\n\n--/);
    assert.ok(inner.endsWith('==--\n'));
    const parts = subparts(inner);
    assert.equal(parts.length, 2);
    assert.ok(parts[0]!.endsWith('\n\none'));
    const outer = multipartMessage([...subparts(inner), textPart(cloudConfigText({ packages: ['git'] }), 'cloud-config', '')]);
    assert.equal(subparts(outer).length, 3);
    assert.deepEqual(subparts('just text'), ['just text']);
  });

  it('writes a cloud-config document from a map', () => {
    assert.equal(cloudConfigText({ runcmd: ['echo hi'], write_files: [{ path: '/etc/x', content: 'y' }] }), '#cloud-config\nruncmd:\n  - echo hi\nwrite_files:\n  - path: /etc/x\n    content: y\n');
  });
});
