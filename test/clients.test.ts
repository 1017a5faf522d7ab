// The client cache holds code the tests run unsandboxed: a directory that
// others may write, or that belongs to someone else, is not used.
import fs from 'fs';
import path from 'path';
import { afterEach, describe, expect, it } from 'vitest';
import { installNpmPackage } from './clients';
import { rmTree, tempDir, userLabel } from './helpers';

describe(`the test client cache (as ${userLabel})`, () => {
  const saved = process.env.SBX_TEST_CLIENTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.SBX_TEST_CLIENTS;
    else process.env.SBX_TEST_CLIENTS = saved;
  });

  it('refuses a cache others may write, and a planted entry others may write, without running npm', () => {
    const dir = tempDir();
    try {
      process.env.SBX_TEST_CLIENTS = dir;
      fs.chmodSync(dir, 0o777);
      expect(installNpmPackage('node-pty', '1.1.0')).toMatchObject({ why: expect.stringMatching(/not running code from it/) });
      fs.chmodSync(dir, 0o755);
      const planted = path.join(dir, 'node-pty@1.1.0');
      fs.mkdirSync(planted);
      fs.writeFileSync(path.join(planted, '.complete'), '');
      fs.chmodSync(planted, 0o777);
      expect(installNpmPackage('node-pty', '1.1.0')).toMatchObject({ why: expect.stringMatching(/others may write it/) });
    } finally {
      rmTree(dir);
    }
  });
});
