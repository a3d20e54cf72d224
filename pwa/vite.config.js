// Build: `npm run build` -> dist/ (served by the gateway at "/", service worker at /sw.js).
// Dev: `npm run dev` proxies /api to the gateway (LIANXIN_GATEWAY, default http://127.0.0.1:8000).
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const THEME = '#c62828';

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
  },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.js',
      injectRegister: false, // src/service-worker-registration.js registers it (and wires Background Sync)
      manifestFilename: 'manifest.webmanifest',
      includeManifestIcons: false, // the globs below pick the icons the shell needs
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // The two 512px icons are only read at install time; keep them out of the offline shell.
        globIgnores: ['**/icon-512.png', '**/icon-maskable-512.png', 'sw.js', 'manifest.webmanifest'],
      },
      manifest: {
        id: '/',
        name: '网格连心',
        short_name: '网格连心',
        description: '网格化管理服务：网格员工作台、积分兑换、居民服务与管理概览',
        lang: 'zh-CN',
        dir: 'ltr',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        background_color: '#f4f5f7',
        theme_color: THEME,
        categories: ['government', 'productivity'],
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          {
            src: '/icons/icon-maskable-512.png',
            sizes: '512x512',
            type: 'image/png',
            purpose: 'maskable',
          },
        ],
      },
    }),
  ],
});
