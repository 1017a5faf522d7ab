'use strict';
// One call at a time: N calls of each syscall init supervises, each timed on
// its own (hrtime around the fs call), in DIR. Prints {"op": median µs, ...}.
// Run inside and outside the sandbox; the difference of the medians is what
// supervision costs per call (Node's own cost per call is in both).
const fs = require('fs');
const path = require('path');

const [dir, nArg] = process.argv.slice(2);
const n = Number(nArg);
const work = fs.mkdtempSync(path.join(dir, 's'));
const src = path.join(work, 'src');
fs.writeFileSync(src, 'x');
const name = (p, i) => path.join(work, `${p}${i}`);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(fn) {
  const xs = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    xs[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return Math.round(median(xs) * 100) / 100;
}

const out = {};
const fds = [];
out['open O_CREAT|O_EXCL (new file)'] = time((i) => fds.push(fs.openSync(name('c', i), 'wx')));
for (const fd of fds.splice(0)) fs.closeSync(fd);
out['open O_CREAT|O_TRUNC (existing file)'] = time((i) => fds.push(fs.openSync(name('c', i), 'w')));
for (const fd of fds.splice(0)) fs.closeSync(fd);
// Opens for writing without O_CREAT go to init too when the repository model
// guards every git directory (Supervision.writes); a read-only open never does.
out['open O_WRONLY (existing file)'] = time((i) => fds.push(fs.openSync(name('c', i), fs.constants.O_WRONLY)));
for (const fd of fds.splice(0)) fs.closeSync(fd);
out['open O_RDWR /dev/null'] = time(() => fds.push(fs.openSync('/dev/null', 'r+')));
for (const fd of fds.splice(0)) fs.closeSync(fd);
out['open O_RDONLY (existing file)'] = time((i) => fds.push(fs.openSync(name('c', i), 'r')));
for (const fd of fds.splice(0)) fs.closeSync(fd);
out.link = time((i) => fs.linkSync(src, name('l', i)));
out.mkdir = time((i) => fs.mkdirSync(name('d', i)));
out.rename = time((i) => fs.renameSync(name('l', i), name('r', i)));
out.symlink = time((i) => fs.symlinkSync('src', name('y', i)));
out.chmod = time((i) => fs.chmodSync(name('c', i), 0o600));
process.chdir(work);
out['mkdir (relative path)'] = time((i) => fs.mkdirSync(`e${i}`));
process.chdir(dir);
fs.rmSync(work, { recursive: true, force: true });
process.stdout.write(JSON.stringify(out) + '\n');
