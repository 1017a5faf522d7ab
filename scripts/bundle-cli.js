#!/usr/bin/env node
// Makes the CLI's bundles and V8's code caches for them (lib/cli-entry.ts
// lists them): dist/cli.bundle.js, every module of dist/ cli.js can reach and
// node-gyp-build in one file, so a CLI start resolves and reads one file
// instead of some 30, with dist/cli.bundle.cache made by running `exec
// --dry-run` once; and dist/bwrap.bundle.js, the modules bwrap/run.js can
// reach (the installed bwrap's start: no exec options, no configs), with
// dist/bwrap.bundle.cache made by `bwrap --sbx-dry-run`. V8 deserializes a
// whole cache at every start, so each entry takes only what it runs.
// lib/cli-entry.ts uses them, and falls back to dist/ when a source is newer
// than a bundle. Run by `npm run build`, `build:ts` and `prepare`, after tsc.
//   node scripts/bundle-cli.js             the bundles and their caches
//   node scripts/bundle-cli.js --no-cache  the bundles only
//   node scripts/bundle-cli.js --check     exit 1 unless all are current (before publishing)
'use strict';
const crypto = require('crypto');
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
// Each bundle's dry run that trains its cache (in the child's cwd, a temporary directory).
const TRAIN = {
  cli: (cwd) => ['exec', '--dry-run', '--no-config', '-w', cwd, '--', 'true'],
  bwrap: (cwd) => [
    'bwrap',
    '--sbx-dry-run',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--bind',
    cwd,
    cwd,
    '--unshare-all',
    '--proc',
    '/proc',
    '--',
    'true',
  ],
};
// The entry (which lists the bundles) stays a file of its own.
const NOT_BUNDLED = new Set(['cli-entry.js']);
const bundles = () => require(path.join(dist, 'cli-entry.js')).BUNDLES;

/** `from` and every module of dist/ it requires, directly or not (relative requires, as tsc writes them). */
function distModules(from) {
  const out = new Set();
  const visit = (rel) => {
    if (out.has(rel) || NOT_BUNDLED.has(rel)) return;
    out.add(rel);
    const text = fs.readFileSync(path.join(dist, rel), 'utf8');
    for (const m of text.matchAll(/require\((["'])(\.{1,2}\/[^"']+)\1\)/g)) {
      const key = path.posix.join(path.posix.dirname(rel), m[2]);
      if (fs.existsSync(path.join(dist, `${key}.js`))) visit(`${key}.js`);
      else if (key.endsWith('.js') && fs.existsSync(path.join(dist, key))) visit(key);
    }
  };
  visit(from);
  return [...out].sort();
}

/** A module's text as a function of (exports, require, module, __filename, __dirname), as Node wraps it. */
const wrap = (text) =>
  `function (exports, require, module, __filename, __dirname) {\n${text.replace(/^#!.*/, '').replace(/^\/\/# sourceMappingURL=.*$/m, '')}\n}`;

/**
 * Where each relative require of `rel` goes: the key of a bundled module, the
 * entry (`#entry`, whose exports the entry hands in), or a path relative to
 * dist/ that Node's require loads at run time. Worked out here, so a start
 * joins no paths: path.join on a cold start runs in V8's interpreter, and the
 * bundle's ~200 requires cost ~1 ms that way.
 */
function requireMap(rel, text, defined) {
  const out = {};
  for (const m of text.matchAll(/require\((["'])(\.{1,2}\/[^"']+)\1\)/g)) {
    const spec = m[2];
    const key = path.posix.join(path.posix.dirname(rel), spec);
    if (defined.has(`${key}.js`)) out[spec] = `${key}.js`;
    else if (defined.has(key)) out[spec] = key;
    else if (key === 'cli-entry' || key === 'cli-entry.js') out[spec] = '#entry';
    else out[spec] = `>${key}`;
  }
  return out;
}

function bundleText(from) {
  const sources = distModules(from);
  const defined = new Set(sources);
  const texts = sources.map((rel) => fs.readFileSync(path.join(dist, rel), 'utf8'));
  const defs = sources.map((rel, i) => `${JSON.stringify(rel)}: ${wrap(texts[i])}`);
  const maps = sources.map((rel, i) => `${JSON.stringify(rel)}: ${JSON.stringify(requireMap(rel, texts[i], defined))}`);
  // node-gyp-build as the package would find it from dist/ (its two files).
  const gyp = path.dirname(require.resolve('node-gyp-build/package.json', { paths: [dist] }));
  const gypFiles = ['index.js', 'node-gyp-build.js'];
  const gypKeys = new Set(gypFiles.map((f) => `#node-gyp-build/${f}`));
  for (const f of gypFiles) {
    const text = fs.readFileSync(path.join(gyp, f), 'utf8');
    defs.push(`${JSON.stringify(`#node-gyp-build/${f}`)}: ${wrap(text)}`);
    maps.push(`${JSON.stringify(`#node-gyp-build/${f}`)}: ${JSON.stringify(requireMap(`#node-gyp-build/${f}`, text, gypKeys))}`);
  }
  // The loader: keys are paths relative to dist/; a module's relative requires go
  // through its map (made above); anything else (builtins, other packages) goes to
  // Node's require from dist/, except the entry itself (not bundled), whose exports
  // the entry hands in: resolving it again would stat its path.
  const body = `(function (outerRequire, dist, entryExports) {
'use strict';
const defs = {
${defs.join(',\n')}
};
const maps = {
${maps.join(',\n')}
};
const done = {};
const load = (key) => {
  if (done[key]) return done[key].exports;
  const module = { exports: {} };
  done[key] = module;
  // __filename and __dirname as Node would give them (node-gyp-build's: dist/ and the package).
  const file = key[0] === '#' ? dist : dist + '/' + key;
  defs[key].call(module.exports, module.exports, requireFor(maps[key]), module, file, file.slice(0, file.lastIndexOf('/')));
  return module.exports;
};
const requireFor = (map) => (spec) => {
  if (spec === 'node-gyp-build') return load('#node-gyp-build/index.js');
  const to = map[spec];
  if (to === undefined) return outerRequire(spec);
  if (to === '#entry' && entryExports) return entryExports;
  if (to === '#entry') return outerRequire(dist + '/cli-entry.js');
  if (to[0] === '>') return outerRequire(dist + '/' + to.slice(1));
  return load(to);
};
return load(${JSON.stringify(from)});
})
`;
  // ASCII only, so the entry reads it as latin1 without decoding UTF-8.
  const odd = /[\u0080-\uffff]/.exec(body);
  if (odd)
    throw new Error(
      `dist/ has a non-ASCII character (${JSON.stringify(odd[0])} near ${JSON.stringify(body.slice(Math.max(0, odd.index - 40), odd.index))}): write it as an escape in lib/`,
    );
  const id = crypto.createHash('sha256').update(body).digest('hex').slice(0, 16);
  return {
    id,
    text: `// bundle ${id}\n// sources: ${JSON.stringify(sources)}\n// Generated by scripts/bundle-cli.js from dist/${from} (lib/cli-entry.ts loads it). Do not edit.\n${body}`,
  };
}

/** Writes through a new file renamed into place: a reader never sees half of one. */
function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function makeCache(kind) {
  const entry = require(path.join(dist, 'cli-entry.js'));
  const b = entry.freshBundle(kind);
  if (!b) throw new Error(`${path.relative(root, bundles()[kind].file)} is missing or stale`);
  const { root: mod, script } = entry.loadBundle(kind, b.text);
  // One dry run compiles what a start runs; its JSON goes to stdout, which the parent ignores.
  // A host that cannot sandbox (the CLI would exit) still gets a cache of the loading.
  const exit = process.exit;
  process.exit = (code) => {
    throw new Error(`the CLI exited with ${code}`);
  };
  const argv = TRAIN[kind](process.cwd());
  try {
    if (kind === 'bwrap') mod.bwrapMain(argv.slice(1));
    else mod.main(argv);
  } catch (e) {
    process.stderr.write(`bundle-cli: the ${kind} dry run failed (${e.message.split('\n')[0]}); its code cache covers loading only\n`);
  } finally {
    process.exit = exit;
  }
  writeAtomic(bundles()[kind].cache, Buffer.concat([Buffer.from(`${b.id}\n`, 'latin1'), script.createCachedData()]));
}

function main() {
  const make = process.argv.find((a) => a.startsWith('--make-cache='));
  if (make) return makeCache(make.slice('--make-cache='.length));
  if (!fs.existsSync(path.join(dist, 'cli-entry.js'))) {
    if (process.argv.includes('--check')) {
      console.error('bundle-cli: dist/ is not built: run `npm run build:ts`');
      process.exit(1);
    }
    throw new Error('dist/ is not built: run tsc first');
  }
  const all = bundles();
  if (process.argv.includes('--check')) {
    // What npm would pack: bundles and caches current with dist/ (prepublishOnly).
    const entry = require(path.join(dist, 'cli-entry.js'));
    const current = (kind) => {
      const b = entry.freshBundle(kind);
      const file = all[kind].cache;
      return !!b && fs.existsSync(file) && fs.readFileSync(file).subarray(0, 17).toString('latin1') === `${b.id}\n`;
    };
    if (!Object.keys(all).every(current)) {
      console.error('bundle-cli: a bundle in dist/ or its cache is missing or older than dist/: run `npm run build:ts`');
      process.exit(1);
    }
    return;
  }
  for (const b of Object.values(all)) fs.rmSync(b.cache, { force: true });
  // Made by an earlier build, when the front end started from cli.bundle.js.
  fs.rmSync(path.join(dist, 'cli.bundle.bwrap.cache'), { force: true });
  for (const b of Object.values(all)) {
    const { text } = bundleText(b.root);
    writeAtomic(b.file, text);
    console.log(`wrote ${path.relative(root, b.file)} (${text.length} bytes)`);
  }
  if (process.argv.includes('--no-cache')) return;
  for (const [kind, b] of Object.entries(all)) {
    // In a child: the dry run must not leave a host-facts cache or anything else behind.
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-bundle-'));
    try {
      const r = cp.spawnSync(process.execPath, [__filename, `--make-cache=${kind}`], {
        cwd: work,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache') },
      });
      // The bundle works without a cache (a start compiles it): say so, but do not fail the build.
      if (r.status !== 0) {
        console.error(`bundle-cli: warning: no ${kind} code cache (exit ${r.status ?? r.signal})`);
        continue;
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    console.log(`wrote ${path.relative(root, b.cache)} (${fs.statSync(b.cache).size} bytes)`);
  }
}

main();
