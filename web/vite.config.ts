/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The entry starts the dashboard's API requests, then imports the app; the browser should
// fetch the app's code at the same time as the entry, not after it: preload it from the HTML.
function preloadApp(): Plugin {
  return {
    name: "rex-preload-app",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(_html, ctx) {
        const chunks = Object.values(ctx.bundle ?? {}).filter((c) => c.type === "chunk" && c.name === "mount");
        const entries = new Set(Object.values(ctx.bundle ?? {}).flatMap((c) => (c.type === "chunk" && c.isEntry ? [c.fileName] : [])));
        const files = new Set(chunks.flatMap((c) => (c.type === "chunk" ? [c.fileName, ...c.imports] : [])));
        return [...files]
          .filter((f) => !entries.has(f))
          .map((f) => ({ tag: "link", attrs: { rel: "modulepreload", crossorigin: true, href: `/${f}` }, injectTo: "head" as const }));
      },
    },
  };
}

// `npm run dev` proxies the APIs like nginx does on :8000 (REX_API_ORIGIN, default: the local
// nginx), so the page and the APIs share one origin in development too.
const api = process.env.REX_API_ORIGIN ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), preloadApp()],
  build: {
    outDir: "dist",
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  server: { proxy: { "/api": { target: api, changeOrigin: false } } },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
