import { defineConfig } from 'vite';

// Preact through esbuild's automatic JSX runtime: no Babel, no plugin.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The server's CSP is default-src 'self': nothing may be inlined into index.html.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    // Two pages: the agent console (index.html) and the customer portal (portal.html, served
    // for /portal/…). Each loads only its own code; they share the Preact chunk.
    rollupOptions: {
      input: { console: 'index.html', portal: 'portal.html' },
    },
  },
  server: {
    // `npm run dev` against a desk on :8080 (make run).
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
