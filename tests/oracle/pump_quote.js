#!/usr/bin/env node
// Oracle for pump.fun coins quoted in a mint other than SOL (and the fee features around them:
// mayhem, cashback, fee sharing): the official @pump-fun/pump-sdk 2.0.0 builds, prices and decodes;
// localnet (tests/localnet/pump/test_quote_mint.py) and the bot's venue
// (tests/trading/pumpfun/test_quote_mint.py) are checked against it. Reads ONE JSON value on stdin
// (a request or a list of them), writes the answers as JSON; with --serve, one request per line
// (see serve below).
//
//   {"op": "quote", "global", "feeConfig"|null, "bondingCurve", "mintSupply", "buySol"?,
//    "buyTokens"?, "sellTokens"?}      -> {buyTokens?, buySolCost?, buyCostForTokens?, sellSol?,
//                                          feesBps, fee?}  (bondingCurve.ts / fees.ts)
//   {"op": "decode", "bondingCurve"?, "sharingConfig"?, "userVolumeAccumulator"?, "global"?,
//    "events"?: [base64]}              -> the SDK decoders' view (BN as decimal strings)
//   {"op": "raw", "kind": "buy_v2"|"sell_v2", "user", "mint", "creator", "amount", "limit",
//    "feeRecipient", "buybackFeeRecipient", "tokenProgram", "quoteMint", "quoteTokenProgram"}
//        -> getBuyV2InstructionRaw / getSellV2InstructionRaw ({programId, keys, data})
//   {"op": "high", "kind": "buy_v2"|"sell_v2", "global", "bondingCurve", "user", "mint",
//    "amount", "quoteAmount", "slippage", "tokenProgram", "quoteTokenProgram", "ataExists"}
//        -> buyV2Instructions / sellV2Instructions (fee recipient the SDK's own pick)
//   {"op": "create_v2", "mint", "name", "symbol", "uri", "creator", "user", "mayhemMode"?,
//    "quoteMint"?, "quoteTokenProgram"?, "creatorFeeBps"?}   -> createV2Instruction
//   {"op": "tx", "blockhash", "payer", "signers": [base64 secret], "rpc"?, "instructions": [spec]}
//        -> a signed v0 transaction; specs: {"kind": "compute_unit_limit", units},
//           {"kind": "ata", owner, mint, tokenProgram?, payer?}, {"kind": "create_v2", ...as above},
//           {"kind": "buy_v2"|"sell_v2", user, mint, amount, quoteAmount, slippage?, tokenProgram?,
//            quoteMint?} (need rpc: OnlinePumpSdk fetchGlobal + fetchBuyState/fetchSellState, the
//           SDK's high-level builders), {"kind": "buy_v2_raw"|"sell_v2_raw", ...raw fields}.
"use strict";

const {
  Connection, Keypair, PublicKey, TransactionMessage, VersionedTransaction, ComputeBudgetProgram,
} = require("@solana/web3.js");
const {
  createAssociatedTokenAccountIdempotentInstruction, getAssociatedTokenAddressSync,
  TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID,
} = require("@solana/spl-token");
const BN = require("bn.js");
const pump = require("@pump-fun/pump-sdk");

const { PUMP_SDK } = pump;
const pk = (v) => new PublicKey(v);
const bn = (v) => new BN(String(v));
const opt = (v, fallback) => (v ? pk(v) : fallback);

function info(b64, owner) {
  return {
    data: Buffer.from(b64, "base64"), executable: false, lamports: 0,
    owner: owner || pump.PUMP_PROGRAM_ID,
  };
}

function plain(value) {
  if (value === null || value === undefined) return value;
  if (BN.isBN(value)) return value.toString(10);
  if (value instanceof PublicKey) return value.toBase58();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

function ixJson(ix) {
  return {
    programId: ix.programId.toBase58(),
    keys: ix.keys.map((k) => ({
      pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable,
    })),
    data: Buffer.from(ix.data).toString("base64"),
  };
}

function quote(req) {
  const global = PUMP_SDK.decodeGlobal(info(req.global));
  const feeConfig = req.feeConfig
    ? PUMP_SDK.decodeFeeConfig(info(req.feeConfig, pump.PUMP_FEE_PROGRAM_ID))
    : null;
  const bondingCurve = PUMP_SDK.decodeBondingCurve(info(req.bondingCurve));
  const mintSupply = bn(req.mintSupply);
  const quoteMint = bondingCurve.quoteMint;
  const args = { global, feeConfig, mintSupply, bondingCurve, quoteMint };
  const out = {};
  if (req.buySol != null) {
    out.buyTokens = pump.getBuyTokenAmountFromSolAmount({ ...args, amount: bn(req.buySol) })
      .toString(10);
    out.buySolCost = pump.getBuySolAmountFromTokenAmount({ ...args, amount: bn(out.buyTokens) })
      .toString(10);
  }
  if (req.buyTokens != null) {
    out.buyCostForTokens = pump
      .getBuySolAmountFromTokenAmount({ ...args, amount: bn(req.buyTokens) }).toString(10);
  }
  if (req.sellTokens != null) {
    out.sellSol = pump.getSellSolAmountFromTokenAmount({ ...args, amount: bn(req.sellTokens) })
      .toString(10);
  }
  if (req.feeOn != null) {
    out.fee = pump.getFee({ ...args, amount: bn(req.feeOn), isNewBondingCurve: false }).toString(10);
  }
  out.feesBps = plain(pump.computeFeesBps({
    global, feeConfig, mintSupply, virtualQuoteReserves: bondingCurve.virtualQuoteReserves,
    virtualTokenReserves: bondingCurve.virtualTokenReserves, quoteMint: bondingCurve.quoteMint,
    creatorFeeBps: bondingCurve.creatorFeeBps,
  }));
  return out;
}

function decodeEvent(raw) {
  const disc = Array.from(raw.subarray(0, 8));
  const body = raw.subarray(8);
  const match = pump.pumpIdl.events.find((e) => e.discriminator.every((b, i) => b === disc[i]));
  if (!match) return { name: null };
  const decoders = {
    CreateEvent: (b) => PUMP_SDK.decodeCreateEventBc(b),
    TradeEvent: (b) => PUMP_SDK.decodeTradeEventBc(b),
    CompleteEvent: (b) => PUMP_SDK.decodeCompleteEventBc(b),
  };
  const decoder = decoders[match.name];
  return { name: match.name, data: decoder ? plain(decoder(body)) : null };
}

function decode(req) {
  const out = {};
  if (req.global) out.global = plain(PUMP_SDK.decodeGlobal(info(req.global)));
  if (req.bondingCurve) out.bondingCurve = plain(PUMP_SDK.decodeBondingCurve(info(req.bondingCurve)));
  if (req.sharingConfig) {
    out.sharingConfig = plain(
      PUMP_SDK.decodeSharingConfig(info(req.sharingConfig, pump.PUMP_FEE_PROGRAM_ID)),
    );
  }
  if (req.userVolumeAccumulator) {
    out.userVolumeAccumulator = plain(
      PUMP_SDK.decodeUserVolumeAccumulator(info(req.userVolumeAccumulator)),
    );
  }
  if (req.events) out.events = req.events.map((b64) => decodeEvent(Buffer.from(b64, "base64")));
  return out;
}

async function rawIx(req) {
  const args = {
    user: pk(req.user), mint: pk(req.mint), creator: pk(req.creator), amount: bn(req.amount),
    quoteAmount: bn(req.limit ?? req.quoteAmount),
    tokenProgram: opt(req.tokenProgram, TOKEN_2022_PROGRAM_ID),
    quoteMint: opt(req.quoteMint, undefined),
    quoteTokenProgram: opt(req.quoteTokenProgram, TOKEN_PROGRAM_ID),
  };
  if (req.feeRecipient) args.feeRecipient = pk(req.feeRecipient);
  if (req.buybackFeeRecipient) args.buybackFeeRecipient = pk(req.buybackFeeRecipient);
  if (!args.quoteMint) delete args.quoteMint;
  const build = req.kind === "buy_v2" || req.kind === "buy_v2_raw"
    ? "getBuyV2InstructionRaw" : "getSellV2InstructionRaw";
  return await PUMP_SDK[build](args);
}

async function high(req) {
  const global = PUMP_SDK.decodeGlobal(info(req.global));
  const curveInfo = info(req.bondingCurve);
  const bondingCurve = PUMP_SDK.decodeBondingCurve(curveInfo);
  const args = {
    global, bondingCurveAccountInfo: curveInfo, bondingCurve, mint: pk(req.mint),
    user: pk(req.user), amount: bn(req.amount), quoteAmount: bn(req.quoteAmount),
    slippage: Number(req.slippage), tokenProgram: opt(req.tokenProgram, TOKEN_2022_PROGRAM_ID),
    quoteTokenProgram: opt(req.quoteTokenProgram, TOKEN_PROGRAM_ID),
  };
  const ixs = req.kind === "buy_v2"
    ? await PUMP_SDK.buyV2Instructions({
      ...args, associatedUserAccountInfo: req.ataExists ? curveInfo : null,
    })
    : await PUMP_SDK.sellV2Instructions(args);
  return ixs.map(ixJson);
}

async function createV2(spec) {
  const args = {
    mint: pk(spec.mint), name: spec.name, symbol: spec.symbol, uri: spec.uri,
    creator: pk(spec.creator), user: pk(spec.user), mayhemMode: Boolean(spec.mayhemMode),
  };
  if (spec.quoteMint) args.quoteMint = pk(spec.quoteMint);
  if (spec.quoteTokenProgram) args.quoteTokenProgram = pk(spec.quoteTokenProgram);
  if (spec.creatorFeeBps != null) args.creatorFeeBps = bn(spec.creatorFeeBps);
  return await PUMP_SDK.createV2Instruction(args);
}

async function instructionsFor(spec, connection) {
  const online = connection ? new pump.OnlinePumpSdk(connection) : null;
  switch (spec.kind) {
    case "compute_unit_limit":
      return [ComputeBudgetProgram.setComputeUnitLimit({ units: spec.units })];
    case "ata": {
      const tokenProgram = opt(spec.tokenProgram, TOKEN_2022_PROGRAM_ID);
      const ata = getAssociatedTokenAddressSync(pk(spec.mint), pk(spec.owner), true, tokenProgram);
      return [createAssociatedTokenAccountIdempotentInstruction(
        pk(spec.payer || spec.owner), ata, pk(spec.owner), pk(spec.mint), tokenProgram,
      )];
    }
    case "create_v2":
      return [await createV2(spec)];
    case "buy_v2_raw":
    case "sell_v2_raw":
      return [await rawIx(spec)];
    case "buy_v2":
    case "sell_v2": {
      if (!online) throw new Error(`instruction kind ${spec.kind} needs "rpc"`);
      const tokenProgram = opt(spec.tokenProgram, TOKEN_2022_PROGRAM_ID);
      const hint = opt(spec.quoteMint, undefined);
      const global = await online.fetchGlobal();
      const fetch = spec.kind === "buy_v2" ? "fetchBuyState" : "fetchSellState";
      const state = await online[fetch](pk(spec.mint), pk(spec.user), tokenProgram, hint);
      const args = {
        global, ...state, mint: pk(spec.mint), user: pk(spec.user), amount: bn(spec.amount),
        quoteAmount: bn(spec.quoteAmount), slippage: Number(spec.slippage ?? 1), tokenProgram,
      };
      return spec.kind === "buy_v2"
        ? await PUMP_SDK.buyV2Instructions(args)
        : await PUMP_SDK.sellV2Instructions(args);
    }
    default:
      throw new Error(`unknown instruction kind ${spec.kind}`);
  }
}

async function tx(req) {
  const connection = req.rpc ? new Connection(req.rpc, "processed") : null;
  const instructions = [];
  for (const spec of req.instructions) instructions.push(...(await instructionsFor(spec, connection)));
  const signers = (req.signers || []).map((s) => Keypair.fromSecretKey(Buffer.from(s, "base64")));
  const message = new TransactionMessage({
    payerKey: pk(req.payer), recentBlockhash: req.blockhash, instructions,
  }).compileToV0Message();
  const transaction = new VersionedTransaction(message);
  const needed = new Set(
    message.staticAccountKeys.slice(0, message.header.numRequiredSignatures).map((k) => k.toBase58()),
  );
  transaction.sign(signers.filter((s) => needed.has(s.publicKey.toBase58())));
  return {
    transaction: Buffer.from(transaction.serialize()).toString("base64"),
    instructions: instructions.map(ixJson),
  };
}

const OPS = {
  quote, decode, high, tx,
  raw: async (req) => ixJson(await rawIx(req)),
  create_v2: async (req) => ixJson(await createV2(req)),
};

async function answer(req) {
  const op = OPS[req.op];
  if (!op) throw new Error(`unknown op ${req.op}; known: ${Object.keys(OPS).join(", ")}`);
  return await op(req);
}

// `--serve`: one process answers many requests, one JSON request per stdin line, one JSON answer
// per stdout line ({"ok": answer} or {"error": stack}), in order; the SDK loads once, not per call.
function serve() {
  const readline = require("readline");
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let chain = Promise.resolve();
  lines.on("line", (line) => {
    if (!line.trim()) return;
    chain = chain.then(async () => {
      let reply;
      try {
        reply = { ok: await answer(JSON.parse(line)) };
      } catch (err) {
        reply = { error: `${err && err.stack ? err.stack : err}` };
      }
      process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
  });
}

async function main() {
  if (process.argv.includes("--serve")) {
    serve();
    return;
  }
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const result = Array.isArray(request)
    ? await Promise.all(request.map((r) => answer(r)))
    : await answer(request);
  process.stdout.write(JSON.stringify(result));
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
