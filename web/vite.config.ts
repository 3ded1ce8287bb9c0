import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The lab is built from web/ into web/dist with relative asset paths, so the folder can be served
// from any path or opened from any static host; nothing is fetched from a CDN.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 4000,
    // Every asset a file of its own (the 4 KB network kernels would become a data: URL, which the
    // server's Content-Security-Policy does not let the page fetch).
    assetsInlineLimit: 0,
  },
  worker: { format: "es" },
  // The expression parser's Node loader (V8's code cache) has a page twin that imports mathjs.
  resolve: { alias: [{ find: "./mathjs-parse.js", replacement: "./mathjs-parse.browser.ts" }] },
});
