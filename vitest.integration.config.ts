import { defineConfig } from "vitest/config"

/**
 * The integration suite (`npm run test:integration`, in CI): the demo
 * command behind a real nginx (Debian packages `nginx` and, for its
 * `stream` module, `libnginx-mod-stream`) and a real HAProxy (`haproxy`),
 * started by the tests on loopback. Not part of `npm test`: it needs them,
 * and its rolling restart takes several seconds. One file at a time.
 */
export default defineConfig({
  test: {
    include: ["test/integration/**/*.integration.ts"],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["verbose"]
  }
})
