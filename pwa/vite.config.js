// Build: `npm run build` -> dist/ (served by the gateway at "/", service worker at /sw.js).
// Dev: `npm run dev` proxies /api to the gateway (LIANXIN_GATEWAY, default http://127.0.0.1:8000).
//
// The service worker is a second, self-contained build of src/sw.js (one classic script, so
// every browser that has service workers can run it), made after the app is written, with the
// precache list (every shell file and a hash of its content) compiled into it. This replaces
// vite-plugin-pwa + workbox-build, whose bundler pulls per-platform binaries that the package
// registry mirror here does not carry, which broke `npm ci`.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build, defineConfig } from 'vite';

// Read only at install time: not worth carrying in the offline shell.
const NOT_PRECACHED = new Set(['sw.js', 'icons/icon-512.png', 'icons/icon-maskable-512.png']);
const PRECACHED = /\.(html|js|css|svg|png|webmanifest)$/;
// The cashier's camera reader loads when 扫码 is tapped (redeeming needs the network anyway).
const ON_DEMAND = /^assets\/(jsQR|scanner)-/;

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function precacheList(outDir) {
  return filesUnder(outDir)
    .map((file) => [file, relative(outDir, file).split('\\').join('/')])
    .filter(([, url]) => PRECACHED.test(url) && !NOT_PRECACHED.has(url) && !ON_DEMAND.test(url))
    .map(([file, url]) => ({
      url,
      // Content-hashed names need no revision; everything else is revised by its content.
      revision: url.startsWith('assets/')
        ? null
        : createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16),
    }))
    .sort((a, b) => a.url.localeCompare(b.url));
}

function serviceWorker() {
  let outDir;
  let root;
  return {
    name: 'lianxin-service-worker',
    apply: 'build',
    configResolved(config) {
      root = config.root;
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const manifest = precacheList(outDir);
      await build({
        configFile: false,
        root,
        logLevel: 'warn',
        publicDir: false,
        define: {
          __PRECACHE_MANIFEST__: JSON.stringify(manifest),
          'process.env.NODE_ENV': JSON.stringify('production'),
        },
        build: {
          outDir,
          emptyOutDir: false,
          copyPublicDir: false,
          target: 'es2020',
          minify: true,
          lib: { entry: resolve(root, 'src/sw.js'), formats: ['iife'], name: 'lianxinServiceWorker', fileName: () => 'sw.js' },
        },
      });
      this.info?.(`service worker: dist/sw.js precaches ${manifest.length} files`);
    },
  };
}

export default defineConfig({
  build: {
    target: 'es2020',
    // Cheap phones on weak networks: one small entry chunk, no source maps shipped.
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '/api': process.env.LIANXIN_GATEWAY || 'http://127.0.0.1:8000' },
    // the app imports contracts/vocabulary.json (one list of labels for server and app)
    fs: { allow: ['..'] },
  },
  plugins: [serviceWorker()],
});
