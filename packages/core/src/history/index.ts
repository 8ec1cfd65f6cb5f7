export { loadNewestValidManifest, type NewestValidManifest } from "./fallback.ts";
export { type ListedManifest, listManifests, manifestDirOf } from "./list-manifests.ts";
export { loadCurrent, loadManifest } from "./load.ts";
export {
  type RollbackOptions,
  type RollbackResult,
  type RollbackTarget,
  resolveRollbackTarget,
  rollback,
} from "./rollback.ts";
