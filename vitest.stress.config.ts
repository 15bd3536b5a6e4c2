import { defineConfig } from "vitest/config"

/**
 * The stress suite (`npm run test:stress`): the server in a child process
 * under thousands of connections, aborts, slow and silent clients, limits
 * and shutdown. Not part of `npm test` (its files are `*.stress.ts`, which
 * the default config does not include). One file at a time: the machine has
 * two cores, and the scenarios measure the server's memory and timing.
 */
export default defineConfig({
  test: {
    include: ["test/stress/**/*.stress.ts"],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 30_000,
    reporters: ["verbose"]
  }
})
