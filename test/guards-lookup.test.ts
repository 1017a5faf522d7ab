// guards.ts's nodeModulePaths: the node_modules directories Node searches from
// a directory, the same list as Node's own Module._nodeModulePaths (a planted
// copy of a dependency in one of them would be loaded by the next sandbox's
// sbx-native, so each is guarded).
import Module from 'module';
import { describe, expect, it } from 'vitest';
import { nodeModulePaths } from '../lib/guards';

const nodes = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths;

describe('nodeModulePaths', () => {
  it("lists what Module._nodeModulePaths lists, in Node's order", () => {
    for (const dir of [
      '/',
      '/a',
      '/a/b/c',
      '/a/b/',
      '/node_modules',
      '/a/node_modules',
      '/a/node_modules/b',
      '/a/node_modules/b/node_modules/c/dist',
      '/a/node_modules/node_modules/x',
      '/a/xnode_modules/node_modulesx',
      '/a/./b/../c',
      '/a//b',
      '/work/h-cold/dist',
    ])
      expect(nodeModulePaths(dir), dir).toEqual(nodes(dir));
  });
});
