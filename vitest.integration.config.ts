import { defineConfig } from "vitest/config"

/**
 * The integration suite (`npm run test:integration`, in CI): the demo
 * command behind a real nginx (Debian package `nginx`), started by the tests
 * on loopback. Not part of `npm test`: it needs nginx, and its rolling
 * restart takes several seconds. One file at a time.
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
