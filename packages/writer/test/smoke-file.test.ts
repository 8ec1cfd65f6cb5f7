import { afterAll } from "bun:test";
import { FileStore } from "@shardy/store";
import { removeTempDirs, tempDir } from "./helpers.ts";
import { smokeSuite } from "./scenarios.ts";

afterAll(removeTempDirs);

smokeSuite(
  "file store",
  {
    location(label) {
      const dir = tempDir(label);
      return { config: { s3_prefix: `file://${dir}` }, store: new FileStore(dir), prefix: "" };
    },
  },
  [0, 3],
);
