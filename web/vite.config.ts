import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";
import { defineConfig } from "vite";

// The console is served by the API at /admin; `npm run dev` proxies the API to `make run`'s port.
export default defineConfig({
  base: "/admin/",
  plugins: [
    vue(),
    // Element Plus components (and their styles) are imported where a template uses them, so the
    // sign-in page carries only what it shows.
    Components({ resolvers: [ElementPlusResolver()], dts: "src/components.d.ts" }),
  ],
  build: {
    manifest: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
    },
  },
});
