// Interactive use on a terminal: job control in a sandboxed shell, Ctrl-C to
// the command, raw mode, the terminal handed back, and still no injection.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { spawn } from '../lib';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');

/** Runs argv on a fresh pty, feeding `keys` (after `wait` seconds each) and returns everything it printed and its exit code. */
function onPty(argv: string[], steps: [number, string][]): { out: string; code: number } {
  const py = `
import json, os, pty, select, sys, time
argv, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b''
def drain(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: out += os.read(fd, 65536)
            except OSError: return
for wait, keys in steps:
    drain(wait)
    os.write(fd, keys.encode())
drain(2.0)
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({'out': out.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, JSON.stringify(argv), JSON.stringify(steps)], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'dumb' },
  });
  return JSON.parse(r.stdout);
}

describe(`interactive terminal (as ${userLabel})`, () => {
  it('interactive without a terminal on stdin is refused, naming why, and nothing runs', () => {
    const dir = tempDir();
    try {
      for (const stdio of ['pipe', 'ignore', ['pipe', 'inherit', 'inherit']] as const) {
        expect(() =>
          spawn('/bin/sh', ['-c', `touch ${dir}/ran`], { stdio: stdio as any, interactive: true, sandbox: { writableRoots: [dir] } }),
        ).toThrow(/"interactive" option needs a terminal on the command's stdin/);
      }
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      rmTree(dir);
    }
  });

  it('gives a sandboxed bash job control; Ctrl-C reaches the foreground job, not the shell', () => {
    const dir = tempDir();
    const r = onPty(
      [process.execPath, bin, 'exec', '--tmp', 'none', '-w', dir, '--', 'bash', '--norc', '--noprofile', '-i'],
      [
        [1.0, 'echo "flags=$-"\n'],
        [0.3, 'sleep 30\n'],
        [0.5, '\x03'],
        [0.3, 'echo "after=$?"; sleep 0.3 & jobs\n'],
        [0.5, 'exit 3\n'],
      ],
    );
    rmTree(dir);
    expect(r.out).toMatch(/flags=\S*m\S*/); // monitor mode: job control is on
    expect(r.out).toMatch(/after=130/); // sleep died of SIGINT; bash survived
    expect(r.out).toMatch(/\[1\]\+?\s+Running\s+sleep 0\.3 &/);
    expect(r.out).not.toMatch(/no job control|cannot set terminal process group/);
    expect(r.code).toBe(3);
  });

  it('lets raw-mode programs read single keys', () => {
    const r = onPty(
      [
        process.execPath,
        bin,
        'exec',
        '--',
        process.execPath,
        '-e',
        "process.stdin.setRawMode(true); process.stdin.once('data', (d) => { console.log('got', JSON.stringify(String(d))); process.exit(0); }); console.log('ready')",
      ],
      [[1.5, 'q']],
    );
    expect(r.out).toMatch(/got "q"/);
    expect(r.code).toBe(0);
  });

  it('hands the terminal back to the Node program when the command ends', () => {
    const script = `
      const { spawn } = require(${JSON.stringify(path.join(repoRoot, 'dist'))});
      const c = spawn('/bin/sh', ['-c', 'ps -o tpgid= -p $$'], { stdio: 'inherit', interactive: true, sandbox: { writableRoots: [] } });
      c.on('exit', () => {
        const fg = require('child_process').execFileSync('ps', ['-o', 'tpgid=,pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim().split(/\\s+/);
        console.log(fg[0] === fg[1] ? 'foreground-back' : 'foreground-lost ' + fg);
      });`;
    const r = onPty([process.execPath, '-e', script], []);
    expect(r.out).toMatch(/foreground-back/);
  });

  it('still refuses TIOCSTI on its controlling terminal', () => {
    const dir = tempDir();
    const t = path.join(dir, 't.py');
    fs.writeFileSync(
      t,
      `import fcntl, termios, os\ntry:\n    fcntl.ioctl(0, termios.TIOCSTI, b"#"); print("injected")\nexcept OSError as e:\n    print("refused", os.strerror(e.errno))\n`,
    );
    fs.chmodSync(t, 0o644);
    const r = onPty([process.execPath, bin, 'exec', '--', '/usr/bin/python3', t], []);
    rmTree(dir);
    expect(r.out).toMatch(/refused Operation not permitted/);
  });
});
