#!/usr/bin/env node
// The PumpSwap venue's differential oracle: for each request, the official
// @pump-fun/pump-swap-sdk 1.20.0 prices an offline pool state (buy.ts / sell.ts / fees.ts) and
// builds the swap's instructions (PumpAmmSdk.buyInstructions / sellInstructions, and the buy list
// with buy_exact_quote_in data, as pumpswap.js builds it). The SDK picks the protocol and buyback
// fee recipients with Math.random; a request pins that choice ("random": [protocol, buyback], each
// in [0, 1)) so the instructions can be compared byte for byte.
//
// stdin: a JSON list of requests; stdout: a JSON list of answers, in order. Each request:
//   {"state": STATE (tests/oracle/pumpswap.js), "slippageBps": n,
//    "quote"?: {"buyBase"?, "buyQuote"?, "sellBase"?},          -> "quote" (or "quoteError")
//    "build"?: {"kind": "buy"|"sell"|"buy_exact_quote_in", "amount", "limit", "random": [p, b]}
//                                                               -> "instructions" (or "buildError")
//    "pdas"?: {"mint", "user", "coinCreator"}}                  -> "pdas"
"use strict";

const swap = require("./pumpswap");

const KINDS = {
  buy: (b) => ({ kind: "amm_buy", base: b.amount, maxQuote: b.limit }),
  sell: (b) => ({ kind: "amm_sell", base: b.amount, minQuote: b.limit }),
  buy_exact_quote_in: (b) => ({ kind: "amm_buy_exact_quote_in", quote: b.amount, minBase: b.limit }),
};

function ixJson(ix) {
  return {
    programId: ix.programId.toBase58(),
    keys: ix.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable })),
    data: Buffer.from(ix.data).toString("base64"),
  };
}

function message(err) {
  return String(err && err.message ? err.message : err);
}

async function answer(req) {
  const out = {};
  if (req.pdas) out.pdas = swap.ops.amm_pdas(req.pdas);
  // each quote alone, so that one the SDK refuses does not hide the others
  for (const [key, size] of Object.entries(req.quote || {})) {
    try {
      const q = swap.ops.amm_quote({ state: req.state, slippage: req.slippageBps / 100, [key]: size });
      out.feesBps = q.feesBps;
      out.effectiveQuoteReserve = q.effectiveQuoteReserve;
      (out.quote = out.quote || {})[key] = q[key];
    } catch (err) {
      (out.quoteError = out.quoteError || {})[key] = message(err);
    }
  }
  if (req.build) {
    const queue = [...req.build.random];
    const saved = Math.random;
    Math.random = () => {
      if (queue.length === 0) throw new Error("the SDK drew more random numbers than pinned");
      return queue.shift();
    };
    try {
      const spec = { ...KINDS[req.build.kind](req.build), state: req.state };
      const instructions = await swap.kinds[spec.kind](spec, null);
      out.instructions = instructions.map(ixJson);
      out.randomLeft = queue.length;
    } catch (err) {
      out.buildError = message(err);
    } finally {
      Math.random = saved;
    }
  }
  return out;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const answers = [];
  for (const req of requests) answers.push(await answer(req)); // in order: Math.random is pinned per request
  process.stdout.write(JSON.stringify(answers));
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
