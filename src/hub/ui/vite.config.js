import { defineConfig } from 'vite';

// The bundle goes to dist/, which src/hub/ui/embed.go embeds into the Go
// binaries. `npm run dev` proxies the API to a running hub (HUB_URL).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: false, // dist/.keep stays (the Go embed needs the directory)
    target: 'es2020',
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': process.env.HUB_URL || 'http://127.0.0.1:8898' },
  },
});
