#!/usr/bin/env node
// Independent check of localnet's RPC: @solana/web3.js 1.x `Connection` (its own superstruct
// response validation, nobody here wrote it) calls each method and prints what it parsed.
//
// Reads ONE JSON object on stdin:
//   {"rpc": url, "address": base58, "signature": base58 (a jsonParsed-worthy transaction),
//    "before": base58, "slot": n, "message": base64 (a v0 message for getFeeForMessage),
//    "statuses": [base58]}
// Writes one JSON object: per method, {"ok": <what web3.js returned, keys as base58>} or
// {"error": message} (a validation failure of web3.js is such an error).
"use strict";

const { Connection, PublicKey, VersionedMessage } = require("@solana/web3.js");

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
  const address = new PublicKey(req.address);
  const calls = {
    getSignaturesForAddress: () => conn.getSignaturesForAddress(address, { limit: 10 }),
    getSignaturesForAddressBefore: () =>
      conn.getSignaturesForAddress(address, { limit: 10, before: req.before }),
    getBlockTime: () => conn.getBlockTime(req.slot),
    getFeeForMessage: () => {
      const message = VersionedMessage.deserialize(Buffer.from(req.message, "base64"));
      return conn.getFeeForMessage(message, "processed");
    },
    getSupply: () => conn.getSupply({ excludeNonCirculatingAccountsList: true }),
    getTransactionCount: () => conn.getTransactionCount("processed"),
    getEpochSchedule: () => conn.getEpochSchedule(),
    getSlotLeaders: () => conn.getSlotLeaders(req.slot, 3),
    getLeaderScheduleSize: async () => {
      const schedule = await conn.getLeaderSchedule();
      return Object.fromEntries(Object.entries(schedule).map(([k, v]) => [k, v.length]));
    },
    getParsedTransaction: () =>
      conn.getParsedTransaction(req.signature, { maxSupportedTransactionVersion: 0 }),
    getSignatureStatusesSearch: () =>
      conn.getSignatureStatuses(req.statuses, { searchTransactionHistory: true }),
    getSignatureStatuses: () => conn.getSignatureStatuses(req.statuses),
    // web3.js validates getParsedBlock as "full" unless transactionDetails is accounts/none
    getParsedBlock: async () => {
      const block = await conn.getParsedBlock(req.slot, { maxSupportedTransactionVersion: 0 });
      return {
        blockTime: block.blockTime,
        signatures: block.transactions.map((t) => t.transaction.signatures[0]),
        programs: block.transactions.map((t) =>
          t.transaction.message.instructions.map((ix) => ix.program || null),
        ),
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
