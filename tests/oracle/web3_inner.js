#!/usr/bin/env node
// Independent check of localnet's inner instructions and simulation fields: @solana/web3.js 1.x
// `Connection` (its own superstruct response validation, nobody here wrote it).
//
// Reads ONE JSON object on stdin:
//   {"rpc": url, "signature": base58 (a landed transaction with CPIs),
//    "transaction": base64 (a signed VersionedTransaction to simulate, not sent)}
// Writes one JSON object: per call, {"ok": <what web3.js returned, keys as base58>} or
// {"error": message} (a validation failure of web3.js is such an error).
"use strict";

const { Connection, PublicKey, VersionedTransaction } = require("@solana/web3.js");

function plain(value) {
  if (value instanceof PublicKey) return value.toBase58();
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const conn = new Connection(req.rpc, "confirmed");
  const opts = { maxSupportedTransactionVersion: 0 };
  const calls = {
    getParsedTransaction: async () => {
      const tx = await conn.getParsedTransaction(req.signature, opts);
      return { innerInstructions: tx.meta.innerInstructions };
    },
    getTransaction: async () => {
      const tx = await conn.getTransaction(req.signature, opts);
      return {
        keys: tx.transaction.message.staticAccountKeys,
        innerInstructions: tx.meta.innerInstructions,
      };
    },
    simulateTransaction: async () => {
      const tx = VersionedTransaction.deserialize(Buffer.from(req.transaction, "base64"));
      const sim = await conn.simulateTransaction(tx, {
        sigVerify: false,
        innerInstructions: true,
        commitment: "processed",
      });
      return {
        err: sim.value.err,
        innerInstructions: sim.value.innerInstructions,
        loadedAccountsDataSize: sim.value.loadedAccountsDataSize,
      };
    },
  };
  const out = {};
  for (const [name, call] of Object.entries(calls)) {
    try {
      out[name] = { ok: plain(await call()) };
    } catch (err) {
      out[name] = { error: String(err && err.message ? err.message : err) };
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
