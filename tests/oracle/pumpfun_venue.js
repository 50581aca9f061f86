#!/usr/bin/env node
// Oracle for the bot's pump.fun venue (tests/trading/pumpfun): the official @pump-fun/pump-sdk
// 2.0.0 prices curves and builds trade instructions, offline, so the venue can be compared with it
// byte for byte. Reads ONE JSON value on stdin (a request or a list of them), writes the answers.
//
//   {"op": "quote", "global", "feeConfig"|null, "bondingCurve", "mintSupply",
//    "buySol"?, "sellTokens"?}        (account data base64; amounts decimal strings)
//        -> {buyTokens?, buySolCost?, sellSol?, feesBps}
//   {"op": "raw", "kind": "buy_v2"|"sell_v2"|"buy"|"sell", "user", "mint", "creator", "amount",
//    "limit", "feeRecipient", "buybackFeeRecipient", "tokenProgram", "cashback"?}
//        -> the instruction the SDK's get*InstructionRaw builds ({programId, keys, data})
//   {"op": "high", "kind": "buy_v2"|"sell_v2", "global", "bondingCurve", "user", "mint",
//    "amount", "quoteAmount", "slippage" (percent), "tokenProgram", "ataExists"}
//        -> the instructions of buyV2Instructions / sellV2Instructions (recipients its own pick)
"use strict";

const { PublicKey } = require("@solana/web3.js");
const BN = require("bn.js");
const pump = require("@pump-fun/pump-sdk");

const { PUMP_SDK } = pump;

const pk = (v) => new PublicKey(v);
const bn = (v) => new BN(String(v));

function info(b64, owner) {
  return {
    data: Buffer.from(b64, "base64"), executable: false, lamports: 0,
    owner: owner || pump.PUMP_PROGRAM_ID,
  };
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
  const out = {};
  if (req.buySol != null) {
    out.buyTokens = pump.getBuyTokenAmountFromSolAmount({
      global, feeConfig, mintSupply, bondingCurve, amount: bn(req.buySol), quoteMint,
    }).toString(10);
    out.buySolCost = pump.getBuySolAmountFromTokenAmount({
      global, feeConfig, mintSupply, bondingCurve, amount: bn(out.buyTokens), quoteMint,
    }).toString(10);
  }
  if (req.sellTokens != null) {
    out.sellSol = pump.getSellSolAmountFromTokenAmount({
      global, feeConfig, mintSupply, bondingCurve, amount: bn(req.sellTokens),
    }).toString(10);
  }
  const fees = pump.computeFeesBps({
    global, feeConfig, mintSupply, virtualQuoteReserves: bondingCurve.virtualQuoteReserves,
    virtualTokenReserves: bondingCurve.virtualTokenReserves, quoteMint: bondingCurve.quoteMint,
    creatorFeeBps: bondingCurve.creatorFeeBps,
  });
  out.feesBps = {
    protocolFeeBps: fees.protocolFeeBps.toString(10), creatorFeeBps: fees.creatorFeeBps.toString(10),
  };
  return out;
}

async function raw(req) {
  const common = {
    user: pk(req.user), mint: pk(req.mint), creator: pk(req.creator), amount: bn(req.amount),
    feeRecipient: pk(req.feeRecipient), buybackFeeRecipient: pk(req.buybackFeeRecipient),
    tokenProgram: pk(req.tokenProgram),
  };
  switch (req.kind) {
    case "buy_v2":
      return ixJson(await PUMP_SDK.getBuyV2InstructionRaw({ ...common, quoteAmount: bn(req.limit) }));
    case "sell_v2":
      return ixJson(await PUMP_SDK.getSellV2InstructionRaw({ ...common, quoteAmount: bn(req.limit) }));
    case "buy":
      return ixJson(await PUMP_SDK.getBuyInstructionRaw({ ...common, solAmount: bn(req.limit) }));
    case "sell":
      return ixJson(await PUMP_SDK.getSellInstructionRaw({
        ...common, solAmount: bn(req.limit), cashback: Boolean(req.cashback),
      }));
    default:
      throw new Error(`unknown raw kind ${req.kind}`);
  }
}

async function high(req) {
  const global = PUMP_SDK.decodeGlobal(info(req.global));
  const curveInfo = info(req.bondingCurve);
  const bondingCurve = PUMP_SDK.decodeBondingCurve(curveInfo);
  const args = {
    global, bondingCurveAccountInfo: curveInfo, bondingCurve, mint: pk(req.mint),
    user: pk(req.user), amount: bn(req.amount), quoteAmount: bn(req.quoteAmount),
    slippage: Number(req.slippage), tokenProgram: pk(req.tokenProgram),
  };
  const ixs = req.kind === "buy_v2"
    ? await PUMP_SDK.buyV2Instructions({
      ...args, associatedUserAccountInfo: req.ataExists ? curveInfo : null,
    })
    : await PUMP_SDK.sellV2Instructions(args);
  return ixs.map(ixJson);
}

const OPS = { quote, raw, high };

async function answer(req) {
  const op = OPS[req.op];
  if (!op) throw new Error(`unknown op ${req.op}; known: ${Object.keys(OPS).join(", ")}`);
  return await op(req);
}

async function main() {
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
