import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Goldens must exist: a missing snapshot fails instead of being written silently in CI.
    update: false,
    env: { TZ: "UTC" },
    testTimeout: 30_000,
    globalSetup: ["test/global-setup.ts"],
  },
});
