'use strict';
// Preloaded (`node -r`) into one CLI start by benchmark/cli-phases.js: stamps
// performance.now() (ms since the process started) where a phase ends, found
// from outside by wrapping what each phase calls first (fs, vm.Script, the
// addon's dlopen and spawn), and writes the stamps as one JSON line to fd 3.
// The wrappers add a few microseconds each; the CLI's code is not changed.
const fs = require('fs');
const vm = require('vm');

const marks = [['node bootstrap', performance.now()]];
const mark = (name) => marks.push([name, performance.now()]);
const once = new Set();
const first = (name) => {
  if (once.has(name)) return;
  once.add(name);
  mark(name);
};

const readFileSync = fs.readFileSync;
fs.readFileSync = function (file, ...rest) {
  const s = String(file);
  if (s.endsWith('.bundle.js')) first('entry files loaded');
  if (s.endsWith('.cache')) first('bundle read and checked');
  if (s.endsWith('/mountinfo')) first('addon loaded, host facts');
  return readFileSync.call(this, file, ...rest);
};
const statSync = fs.statSync;
fs.statSync = function (file, ...rest) {
  if (String(file).endsWith('sbx-native.json')) first('modules run, args parsed');
  return statSync.call(this, file, ...rest);
};
const fstatSync = fs.fstatSync;
fs.fstatSync = function (fd, ...rest) {
  if (fd === 0) first('configs looked for');
  return fstatSync.call(this, fd, ...rest);
};
const Script = vm.Script;
vm.Script = function (...args) {
  first('cache read');
  const s = new Script(...args);
  mark('bundle compiled');
  return s;
};
const dlopen = process.dlopen;
process.dlopen = function (module, ...rest) {
  mark('policy, before the addon');
  const r = dlopen.call(this, module, ...rest);
  // N-API properties are read-only: wrap a copy, each function bound to the original.
  const b = module.exports;
  const copy = {};
  for (const k of Object.getOwnPropertyNames(b)) copy[k] = typeof b[k] === 'function' ? b[k].bind(b) : b[k];
  // The plan is built before the spawn, or (an early head start, lib/head-start.ts)
  // the helper is spawned first and the plan handed to it over its socket.
  let spawned = false;
  copy.spawn = (...a) => {
    mark(spawned ? 'spawn' : 'plan built, or an early head start begun');
    spawned = true;
    const out = b.spawn(...a);
    mark('helper spawned');
    return out;
  };
  if (b.poolSend)
    copy.poolSend = (...a) => {
      mark('plan built');
      const out = b.poolSend(...a);
      mark('plan handed to the waiting helper');
      return out;
    };
  copy.setExitHandler = (fn) =>
    b.setExitHandler((...a) => {
      if (a[1] === 'exec') mark('helper set up, command started');
      if (a[1] === 'exit') mark('command and helper exited');
      return fn(...a);
    });
  module.exports = copy;
  return r;
};
process.on('exit', () => {
  mark('exit handlers');
  fs.writeSync(3, JSON.stringify(marks) + '\n');
});
