import { svelte } from "@sveltejs/vite-plugin-svelte";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Built into the Python package, which serves it at / (chasm.webui.spa) and ships it in the wheel.
const outDir = fileURLToPath(new URL("../src/chasm/webui/dist", import.meta.url));
const api = process.env.CHASM_URL ?? "http://127.0.0.1:8787";

export default defineConfig({
  plugins: [svelte()],
  build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 600 },
  server: {
    proxy: Object.fromEntries(
      ["/v1", "/auth", "/api", "/ws"].map((p) => [p, { target: api, ws: p === "/ws" || p === "/v1" }]),
    ),
  },
  test: { environment: "node", include: ["src/**/*.test.ts"], isolate: false },
});
