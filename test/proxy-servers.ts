// Local servers the network-proxy tests reach through the sandbox's proxy:
// an origin that records what it saw, `git http-backend` behind a small CGI
// bridge, and a minimal npm registry serving one package.
import { execFileSync, spawn } from 'child_process';
import fs from 'fs';
import http from 'http';
import net from 'net';
import path from 'path';

export interface Origin {
  port: number;
  /** "METHOD host url" of every request it got. */
  seen: string[];
  close(): Promise<void>;
}

export async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return (server.address() as net.AddressInfo).port;
}

const closer = (server: http.Server) => () =>
  new Promise<void>((res) => {
    server.closeAllConnections?.();
    server.close(() => res());
  });

export async function origin(): Promise<Origin> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    if (req.url === '/big') {
      res.writeHead(200, { 'Content-Length': String(64 << 20) });
      const chunk = Buffer.alloc(1 << 20, 120);
      let left = 64;
      const more = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      return more();
    }
    res.end(`hello ${req.url}`);
  });
  const port = await listen(server);
  return { port, seen, close: closer(server) };
}

/** An origin in a process of its own, for callers that block this one (spawnSync). */
export async function originProcess(): Promise<{ port: number; kill(): void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    const s = require('http').createServer((q, r) => r.end('hello ' + q.url)).listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((res, rej) => {
    child.stdout!.once('data', (d) => res(Number(String(d).trim())));
    child.once('exit', () => rej(new Error('origin process exited')));
  });
  return { port, kill: () => child.kill('SIGKILL') };
}

/** A bare repository with one commit, served by `git http-backend` (smart HTTP). */
export async function gitServer(dir: string): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const work = path.join(dir, 'src');
  fs.mkdirSync(work);
  const git = (args: string[], cwd: string) =>
    execFileSync('git', args, { cwd, stdio: 'pipe', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } });
  git(['init', '-q', '-b', 'main'], work);
  fs.writeFileSync(path.join(work, 'README'), 'served through the proxy\n');
  git(['add', 'README'], work);
  git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one'], work);
  git(['clone', '-q', '--bare', work, path.join(dir, 'repo.git')], dir);
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_PROJECT_ROOT: dir,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: u.pathname,
        QUERY_STRING: u.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        REMOTE_ADDR: '127.0.0.1',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        SERVER_PROTOCOL: 'HTTP/1.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let body = false;
    cgi.stdout.on('data', (d: Buffer) => {
      if (body) return void res.write(d);
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i),
          v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = parseInt(v, 10);
        else res.setHeader(k, v);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
      body = true;
    });
    cgi.on('close', () => res.end());
  });
  const port = await listen(server);
  return { port, seen, close: closer(server) };
}

/** A registry with one package, `sbx-proxy-probe@1.0.0`, its tarball made with npm pack. */
export async function npmRegistry(dir: string): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const pkg = path.join(dir, 'pkg');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'sbx-proxy-probe', version: '1.0.0', main: 'index.js' }));
  fs.writeFileSync(path.join(pkg, 'index.js'), "module.exports = 'installed through the proxy';\n");
  const npm = path.join(path.dirname(process.execPath), 'npm');
  const name = execFileSync(npm, ['pack', '--silent', '--pack-destination', dir], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, npm_config_cache: path.join(dir, 'cache') },
  }).trim();
  const tgz = fs.readFileSync(path.join(dir, name));
  const integrity = `sha512-${require('crypto').createHash('sha512').update(tgz).digest('base64')}`;
  const seen: string[] = [];
  let port = 0;
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    if (req.url === '/sbx-proxy-probe') {
      res.setHeader('Content-Type', 'application/json');
      return void res.end(
        JSON.stringify({
          name: 'sbx-proxy-probe',
          'dist-tags': { latest: '1.0.0' },
          versions: {
            '1.0.0': {
              name: 'sbx-proxy-probe',
              version: '1.0.0',
              main: 'index.js',
              dist: { tarball: `http://registry.proxy.test:${port}/sbx-proxy-probe/-/${name}`, integrity },
            },
          },
        }),
      );
    }
    if (req.url === `/sbx-proxy-probe/-/${name}`) return void res.end(tgz);
    res.writeHead(404).end('{}');
  });
  port = await listen(server);
  return { port, seen, close: closer(server) };
}

/** A PEP 503 "simple" index serving the wheels in `dir` (pip's and uv's --index-url), recording what it was asked. */
export async function pypiIndex(dir: string): Promise<Origin> {
  const seen: string[] = [];
  const wheels = fs.readdirSync(dir).filter((f) => f.endsWith('.whl'));
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    const project = /^\/simple\/([^/]+)\/$/.exec(req.url ?? '')?.[1];
    if (project) {
      const links = wheels
        .filter((w) => w.split('-')[0].toLowerCase().replace(/_/g, '-') === project)
        .map((w) => {
          const sum = require('crypto')
            .createHash('sha256')
            .update(fs.readFileSync(path.join(dir, w)))
            .digest('hex');
          return `<a href="/files/${w}#sha256=${sum}">${w}</a>`;
        });
      if (!links.length) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return void res.end(`<!DOCTYPE html><html><body>${links.join('\n')}</body></html>`);
    }
    const file = /^\/files\/([^/]+\.whl)$/.exec(req.url ?? '')?.[1];
    if (file && wheels.includes(file)) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return void res.end(fs.readFileSync(path.join(dir, file)));
    }
    res.writeHead(404).end();
  });
  const port = await listen(server);
  return { port, seen, close: () => new Promise<void>((res) => server.close(() => res())) };
}
