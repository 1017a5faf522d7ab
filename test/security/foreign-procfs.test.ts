// Attack class: a procfs the sandbox shows outside its own /proc. Init looks
// paths up for supervised calls (an open with O_CREAT, mkdir, link...), and in
// a procfs of another pid namespace "self" and the numbered entries would be
// init's own: `open('/D/self/status', O_CREAT)` returned init's status, and
// `/D/<init>/mem` its memory. Two ways such a procfs is there: a host procfs
// mounted outside /proc that the read-only root shows, and bubblewrap's
// `--ro-bind /proc DEST` through the front end. Each supervised lookup in one
// is refused (EACCES); the command's own, unsupervised opens are untouched.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, snapshot, tempDir, userLabel } from '../helpers';
import { hostMounts, PY } from './lib';

const CLI = path.join(repoRoot, 'bin', 'sbx-native.js');

// D: the foreign procfs; W: a writable root. Prints one JSON line.
const PROBE = String.raw`
import json, os, sys
D, W = sys.argv[1], sys.argv[2]
out = {}
def attempt(name, p, flags):
    try:
        fd = os.open(p, flags)
        data = b'' if flags & os.O_WRONLY else os.read(fd, 64) if not p.endswith('mem') else b'Name:\tmem'
        os.close(fd)
        out[name] = 'ok ' + data.decode(errors='replace').split('\n')[0]
    except OSError as e:
        out[name] = 'errno ' + str(e.errno)
init = open(D + '/self/status').read().split('PPid:\t')[1].split()[0]
C = os.O_RDONLY | os.O_CREAT
attempt('self status', D + '/self/status', C)
attempt('init status', D + '/' + init + '/status', C)
attempt('init mem', D + '/' + init + '/mem', C)
attempt('init environ', D + '/' + init + '/environ', C)
os.symlink(D, W + '/lnk')
attempt('through a symlink', W + '/lnk/' + init + '/status', C)
os.unlink(W + '/lnk')
attempt('dotdot', D + '/../' + os.path.basename(D) + '/' + init + '/status', C)
os.chdir(D + '/' + init)
attempt('from the cwd', 'status', C)
os.chdir(W)
attempt('own open', D + '/self/status', os.O_RDONLY)
attempt('sandbox proc', '/proc/self/status', C)
attempt('create in root', W + '/made', os.O_WRONLY | os.O_CREAT)
print(json.dumps(out))
`;

const refused = {
  'self status': 'errno 13',
  'init status': 'errno 13',
  'init mem': 'errno 13',
  'init environ': 'errno 13',
  'through a symlink': 'errno 13',
  dotdot: 'errno 13',
  'from the cwd': 'errno 13',
  'own open': 'ok Name:\tpython3',
  'sandbox proc': 'ok Name:\tpython3',
  'create in root': 'ok ',
};

describe(`a procfs outside /proc (as ${userLabel})`, () => {
  let top: string, W: string, D: string, script: string;
  beforeEach(() => {
    top = tempDir('sbx-fproc-');
    W = path.join(top, 'w');
    D = path.join(top, 'p');
    fs.mkdirSync(W);
    fs.mkdirSync(D);
    script = path.join(top, 'probe.py');
    fs.writeFileSync(script, PROBE);
    fs.chmodSync(top, 0o755);
    fs.chmodSync(W, 0o777);
  });
  afterEach(() => rmTree(top));

  const hostState = () => ({ mounts: hostMounts(), D: snapshot(D) });
  // Every supervised lookup refused, the command's own opens as they were, the host's mounts and D unchanged, and only the root's own file made.
  const refusedAndUnchanged = (r: ReturnType<typeof spawnSync>, before: unknown) => {
    expect({ status: r.status, stderr: String(r.stderr) }).toMatchObject({ status: 0 });
    expect(JSON.parse(String(r.stdout).trim().split('\n').pop()!)).toEqual(refused);
    expect(hostState()).toEqual(before);
    expect(fs.readdirSync(W)).toEqual(['made']);
  };

  it("a host procfs mounted outside /proc: init never looks up the caller's paths in it (EACCES)", () => {
    // The procfs is mounted in a user and mount namespace of the test's own
    // (unshare), so that an unprivileged user can run this too and the
    // host's mount table is never touched.
    const before = hostState();
    const r = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--mount',
        '--pid',
        '--fork',
        'sh',
        '-c',
        'mount -t proc proc "$1" && exec "$2" "$3" exec -w "$4" -- "$5" "$6" "$1" "$4"',
        'sh',
        D,
        process.execPath,
        CLI,
        W,
        PY,
        script,
      ],
      { cwd: W, encoding: 'utf8' },
    );
    refusedAndUnchanged(r, before);
  });

  it("bubblewrap's --ro-bind /proc DEST through the front end: the same (EACCES)", () => {
    const before = hostState();
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'bwrap',
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--bind',
        W,
        W,
        '--ro-bind',
        '/proc',
        D,
        '--proc',
        '/proc',
        '--unshare-pid',
        '--',
        PY,
        script,
        D,
        W,
      ],
      { cwd: W, encoding: 'utf8' },
    );
    refusedAndUnchanged(r, before);
  });
});
