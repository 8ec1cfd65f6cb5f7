import { MemoryStore } from "../src/index.ts";
import { storeContract } from "./contract.ts";

storeContract("memory", () => new MemoryStore(`contract-${crypto.randomUUID()}`));
