// Init takes the path of a directory from the caller's spelling when the
// lookup proves it (absolute, from the root, no symlink, no ..) instead of
// asking the kernel (readlink of the fd): docs/supervisor.md "What init
// does per request". The checks that use that path must come out the same
// however the directory is spelled: a git directory's hooks/ and a missing
// protected name, reached by the plain spelling, through a symlinked
// directory (the lookup then follows it and asks the kernel), through `..`
// and with `//` and `/./` (which init tidies before it looks); and a chain directory's metadata, by the same three spellings.
// Each refusal asserts the errno and that the host is unchanged; the
// plain creations beside them show the shortcut still lets work through.
// As root and as nobody.
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmTree, snapshot, tempDir, twoRoots, userLabel } from './helpers';
import { j, py } from './security/lib';

describe(`supervised calls on spelled, symlinked and .. paths (as ${userLabel})`, () => {
  let T: string, R: string, L: string, G: string;
  beforeEach(() => {
    T = tempDir('sbx-spelled-');
    R = path.join(T, 'proj');
    L = path.join(T, 'link'); // a symlink to R: the same directories, spelled through a symlink
    G = path.join(R, 'vendor', 'lib', '.git'); // a git directory the layout does not find (no clone at R)
    fs.mkdirSync(path.join(G, 'hooks'), { recursive: true });
    fs.mkdirSync(path.join(G, 'objects'));
    fs.mkdirSync(path.join(G, 'refs')); // git's own test: HEAD with objects and refs
    fs.writeFileSync(path.join(G, 'HEAD'), 'ref: refs/heads/main\n');
    fs.symlinkSync(R, L);
  });
  afterEach(() => rmTree(T));

  it('hooks/ and a missing protected name: EROFS however the directory is spelled; other names are made', async () => {
    const before = snapshot(G);
    const hooks = (base: string) => path.join(base, 'vendor', 'lib', '.git', 'hooks');
    const out = await py(
      `
for i, (label, hooks, top) in enumerate([('spelled', ${j(hooks(R))}, ${j(R)}),
                          ('through a symlink', ${j(hooks(L))}, ${j(L)}),
                          ('through ..', ${j(path.join(G, 'objects', '..', 'hooks'))}, ${j(path.join(R, 'vendor', '..'))}),
                          ('with // and /./', ${j(hooks(R).replace('/.git/', '//.git/./'))}, ${j(`${R}/./`)})]):
    out[label + ': new hook'] = attempt(lambda: os.close(os.open(hooks + '/post-checkout', os.O_WRONLY | os.O_CREAT, 0o755)))
    out[label + ': directory in hooks'] = attempt(lambda: os.mkdir(hooks + '/sub'))
    out[label + ': symlink as a hook'] = attempt(lambda: os.symlink('/bin/true', hooks + '/pre-commit'))
    out[label + ': .codex'] = attempt(lambda: os.mkdir(top + '/.codex'))
    out[label + ': .codex by rename'] = attempt(lambda: (os.mkdir(top + '/x-' + str(i)), os.rename(top + '/x-' + str(i), top + '/.codex'))[1])
    out[label + ': a plain file'] = attempt(lambda: os.close(os.open(top + '/f-' + str(i), os.O_WRONLY | os.O_CREAT, 0o644)))
    out[label + ': a plain directory'] = attempt(lambda: os.mkdir(top + '/d-' + str(i)))`,
      { writableRoots: [R], tmp: 'none' },
    );
    const expected: Record<string, string> = {};
    for (const label of ['spelled', 'through a symlink', 'through ..', 'with // and /./']) {
      Object.assign(expected, {
        [`${label}: new hook`]: 'EROFS',
        [`${label}: directory in hooks`]: 'EROFS',
        [`${label}: symlink as a hook`]: 'EROFS',
        [`${label}: .codex`]: 'EROFS',
        [`${label}: .codex by rename`]: 'EROFS',
        [`${label}: a plain file`]: 'ok',
        [`${label}: a plain directory`]: 'ok',
      });
    }
    expect(out).toEqual(expected);
    expect(snapshot(G)).toEqual(before);
    expect(fs.readdirSync(R).sort()).toEqual(
      ['d-0', 'd-1', 'd-2', 'd-3', 'f-0', 'f-1', 'f-2', 'f-3', 'vendor', 'x-0', 'x-1', 'x-2', 'x-3'].sort(),
    );
  });

  it('a chain directory (two roots side by side): chmod and utimes EROFS however it is spelled; a file in a root changes', async () => {
    const { H, A, B } = twoRoots();
    const link = path.join(T, 'chain'); // a symlink to H
    fs.symlinkSync(H, link);
    fs.writeFileSync(path.join(A, 'f'), 'x');
    try {
      const mode = (p: string) => fs.statSync(p).mode & 0o7777;
      const before = { h: mode(H), mtime: fs.statSync(H).mtimeMs };
      const out = await py(
        `
for label, chain, f in [('spelled', ${j(H)}, ${j(path.join(A, 'f'))}),
                        ('through a symlink', ${j(link)}, ${j(path.join(link, 'a', 'f'))}),
                        ('through ..', ${j(path.join(A, '..'))}, ${j(path.join(B, '..', 'a', 'f'))})]:
    out[label + ': chmod the chain directory'] = attempt(lambda: os.chmod(chain, 0o777))
    out[label + ': utime the chain directory'] = attempt(lambda: os.utime(chain, (1, 1)))
    out[label + ': chmod a file in a root'] = attempt(lambda: os.chmod(f, 0o600))`,
        { writableRoots: [A, B], tmp: 'none' },
      );
      const expected: Record<string, string> = {};
      for (const label of ['spelled', 'through a symlink', 'through ..'])
        Object.assign(expected, {
          [`${label}: chmod the chain directory`]: 'EROFS',
          [`${label}: utime the chain directory`]: 'EROFS',
          [`${label}: chmod a file in a root`]: 'ok',
        });
      expect(out).toEqual(expected);
      expect({ h: mode(H), mtime: fs.statSync(H).mtimeMs }).toEqual(before);
      expect(mode(path.join(A, 'f'))).toBe(0o600);
    } finally {
      rmTree(H);
    }
  });
});
