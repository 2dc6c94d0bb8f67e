import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
/** The API the development server proxies to (`npm run dev:web` next to `npm run dev`). */
const api = process.env.MPI_API_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Source maps stay out of the served build: they would only add bytes to every install.
    sourcemap: false,
    rollupOptions: {
      input: { console: `${root}index.html`, graphiql: `${root}graphiql.html` },
    },
  },
  server: {
    proxy: Object.fromEntries(['/graphql', '/fhir', '/healthz', '/readyz'].map((path) => [path, { target: api, changeOrigin: false }])),
  },
});
