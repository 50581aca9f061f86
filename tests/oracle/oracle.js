#!/usr/bin/env node
// Test oracle: the official pump.fun SDK (@pump-fun/pump-sdk 2.0.0) builds, decodes and prices
// what localnet must accept. Nobody in this project wrote the SDK; localnet is checked against it.
//
// Reads ONE JSON value on stdin: a request object or a list of them; writes the answer (or the list
// of answers, in order) as JSON on stdout. Each request has an "op":
//
//   {"op": "pdas", "mint"?, "user"?, "creator"?}             -> the SDK's PDAs and fee recipients
//   {"op": "decode", "global"?, "feeConfig"?, "bondingCurve"?, "events"?: [base64]}
//        account data as base64 -> the SDK decoders' view (BN as decimal strings)
//   {"op": "quote", "global", "feeConfig"|null, "bondingCurve"|null, "mintSupply"|null,
//    "buySol"?, "buyTokens"?, "sellTokens"?}                 -> bondingCurve.ts / fees.ts math
//   {"op": "fetch", "rpc", "mint"?, "user"?, "tokenProgram"?} -> OnlinePumpSdk fetchers over RPC
//   {"op": "tx", "blockhash", "payer", "signers": [base64 secret], "rpc"?,
//    "instructions": [spec, ...]}                            -> a signed v0 transaction (base64)
//
// Instruction specs ("kind"): compute_unit_limit {units}; ata {owner, mint, tokenProgram};
// create {mint, name, symbol, uri, creator, user}; create_v2 {same}; create_v2_and_buy_v2
// {..., amount, quoteAmount} (needs rpc: fetches Global); buy_v2_raw / sell_v2_raw {user, mint,
// creator, amount, quoteAmount, feeRecipient?, buybackFeeRecipient?, tokenProgram?};
// buy_raw / sell_raw {user, mint, creator, amount, solAmount, feeRecipient?,
// buybackFeeRecipient?, tokenProgram?}; buy_v2 / sell_v2 {user, mint, amount, quoteAmount,
// slippage, tokenProgram?} (need rpc: fetchGlobal + fetchBuyState/fetchSellState, the SDK's own
// high-level builders with its own fee-recipient choice). Keys are base58, amounts decimal strings.
// PumpSwap ops and instruction kinds (@pump-fun/pump-swap-sdk 1.20.0, pump's migrate): pumpswap.js.
"use strict";

const {
  Connection,
  Keypair,
  PublicKey,
  TransactionMessage,
  VersionedTransaction,
  ComputeBudgetProgram,
} = require("@solana/web3.js");
const {
  createAssociatedTokenAccountIdempotentInstruction,
  getAssociatedTokenAddressSync,
  TOKEN_PROGRAM_ID,
  TOKEN_2022_PROGRAM_ID,
} = require("@solana/spl-token");
const BN = require("bn.js");
const pump = require("@pump-fun/pump-sdk");

const swap = require("./pumpswap");

const { PUMP_SDK } = pump;

function pk(value) {
  return new PublicKey(value);
}

function bn(value) {
  return new BN(String(value));
}

function info(b64, owner) {
  return {
    data: Buffer.from(b64, "base64"),
    executable: false,
    lamports: 0,
    owner: owner || pump.PUMP_PROGRAM_ID,
  };
}

// BN -> decimal string, PublicKey -> base58, recursively.
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

function tokenProgramOf(spec, fallback) {
  return spec.tokenProgram ? pk(spec.tokenProgram) : fallback;
}

function ixJson(ix) {
  return {
    programId: ix.programId.toBase58(),
    keys: ix.keys.map((k) => ({
      pubkey: k.pubkey.toBase58(),
      isSigner: k.isSigner,
      isWritable: k.isWritable,
    })),
    data: Buffer.from(ix.data).toString("base64"),
  };
}

function pdas(req) {
  const out = {
    global: pump.GLOBAL_PDA.toBase58(),
    feeConfig: pump.PUMP_FEE_CONFIG_PDA.toBase58(),
    globalVolumeAccumulator: pump.GLOBAL_VOLUME_ACCUMULATOR_PDA.toBase58(),
    eventAuthority: pump.PUMP_EVENT_AUTHORITY_PDA.toBase58(),
    feeProgram: pump.PUMP_FEE_PROGRAM_ID.toBase58(),
    program: pump.PUMP_PROGRAM_ID.toBase58(),
  };
  if (req.mint) {
    const mint = pk(req.mint);
    out.bondingCurve = pump.bondingCurvePda(mint).toBase58();
    out.bondingCurveV2 = pump.bondingCurveV2Pda(mint).toBase58();
    out.sharingConfig = pump.feeSharingConfigPda(mint).toBase58();
  }
  if (req.creator) out.creatorVault = pump.creatorVaultPda(pk(req.creator)).toBase58();
  if (req.user) {
    out.userVolumeAccumulator = pump.userVolumeAccumulatorPda(pk(req.user)).toBase58();
  }
  return out;
}

function decode(req) {
  const out = {};
  if (req.global) out.global = plain(PUMP_SDK.decodeGlobal(info(req.global)));
  if (req.feeConfig) {
    out.feeConfig = plain(
      PUMP_SDK.decodeFeeConfig(info(req.feeConfig, pump.PUMP_FEE_PROGRAM_ID)),
    );
  }
  if (req.bondingCurve) out.bondingCurve = plain(PUMP_SDK.decodeBondingCurve(info(req.bondingCurve)));
  if (req.events) {
    out.events = req.events.map((b64) => decodeEvent(Buffer.from(b64, "base64")));
  }
  return out;
}

// "Program data:" payloads: the 8-byte Anchor event discriminator from the IDL, then Borsh.
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

function quote(req) {
  const global = PUMP_SDK.decodeGlobal(info(req.global));
  const feeConfig = req.feeConfig
    ? PUMP_SDK.decodeFeeConfig(info(req.feeConfig, pump.PUMP_FEE_PROGRAM_ID))
    : null;
  const bondingCurve = req.bondingCurve ? PUMP_SDK.decodeBondingCurve(info(req.bondingCurve)) : null;
  const mintSupply = req.mintSupply == null ? null : bn(req.mintSupply);
  const quoteMint = bondingCurve ? bondingCurve.quoteMint : PublicKey.default;
  const out = {};
  if (req.buySol != null) {
    out.buyTokens = pump
      .getBuyTokenAmountFromSolAmount({
        global, feeConfig, mintSupply, bondingCurve, amount: bn(req.buySol), quoteMint,
      })
      .toString(10);
    // what those tokens cost, fees included (the SOL a buy of them spends)
    out.buySolCostForTokens = pump
      .getBuySolAmountFromTokenAmount({
        global, feeConfig, mintSupply, bondingCurve, amount: bn(out.buyTokens), quoteMint,
      })
      .toString(10);
  }
  if (req.buyTokens != null) {
    out.buySolCost = pump
      .getBuySolAmountFromTokenAmount({
        global, feeConfig, mintSupply, bondingCurve, amount: bn(req.buyTokens), quoteMint,
      })
      .toString(10);
  }
  if (req.sellTokens != null) {
    out.sellSol = pump
      .getSellSolAmountFromTokenAmount({
        global, feeConfig, mintSupply, bondingCurve, amount: bn(req.sellTokens),
      })
      .toString(10);
  }
  if (bondingCurve) {
    out.feesBps = plain(
      pump.computeFeesBps({
        global,
        feeConfig,
        mintSupply: mintSupply || global.tokenTotalSupply,
        virtualQuoteReserves: bondingCurve.virtualQuoteReserves,
        virtualTokenReserves: bondingCurve.virtualTokenReserves,
        quoteMint: bondingCurve.quoteMint,
        creatorFeeBps: bondingCurve.creatorFeeBps,
      }),
    );
  }
  return out;
}

async function fetchState(req) {
  const online = new pump.OnlinePumpSdk(new Connection(req.rpc, "processed"));
  const out = {
    global: plain(await online.fetchGlobal()),
    feeConfig: plain(await online.fetchFeeConfig()),
  };
  if (req.mint && req.user) {
    const tokenProgram = tokenProgramOf(req, TOKEN_2022_PROGRAM_ID);
    const state = await online.fetchBuyState(pk(req.mint), pk(req.user), tokenProgram);
    out.bondingCurve = plain(state.bondingCurve);
    out.associatedUserExists = state.associatedUserAccountInfo !== null;
  }
  return out;
}

async function instructionsFor(spec, connection) {
  const online = connection ? new pump.OnlinePumpSdk(connection) : null;
  const need = () => {
    if (!online) throw new Error(`instruction kind ${spec.kind} needs "rpc"`);
    return online;
  };
  switch (spec.kind) {
    case "compute_unit_limit":
      return [ComputeBudgetProgram.setComputeUnitLimit({ units: spec.units })];
    case "compute_unit_price":
      return [ComputeBudgetProgram.setComputeUnitPrice({ microLamports: spec.microLamports })];
    case "ata": {
      const tokenProgram = tokenProgramOf(spec, TOKEN_2022_PROGRAM_ID);
      const ata = getAssociatedTokenAddressSync(pk(spec.mint), pk(spec.owner), true, tokenProgram);
      return [
        createAssociatedTokenAccountIdempotentInstruction(
          pk(spec.payer || spec.owner), ata, pk(spec.owner), pk(spec.mint), tokenProgram,
        ),
      ];
    }
    case "create":
      return [
        await PUMP_SDK.createInstruction({
          mint: pk(spec.mint), name: spec.name, symbol: spec.symbol, uri: spec.uri,
          creator: pk(spec.creator), user: pk(spec.user),
        }),
      ];
    case "create_v2":
      return [
        await PUMP_SDK.createV2Instruction({
          mint: pk(spec.mint), name: spec.name, symbol: spec.symbol, uri: spec.uri,
          creator: pk(spec.creator), user: pk(spec.user), mayhemMode: Boolean(spec.mayhemMode),
        }),
      ];
    case "create_v2_and_buy_v2": {
      const global = await need().fetchGlobal();
      return await PUMP_SDK.createV2AndBuyV2Instructions({
        global, mint: pk(spec.mint), name: spec.name, symbol: spec.symbol, uri: spec.uri,
        creator: pk(spec.creator), user: pk(spec.user), amount: bn(spec.amount),
        quoteAmount: bn(spec.quoteAmount), mayhemMode: false,
      });
    }
    case "buy_v2_raw":
    case "sell_v2_raw": {
      const args = {
        user: pk(spec.user), mint: pk(spec.mint), creator: pk(spec.creator),
        amount: bn(spec.amount), quoteAmount: bn(spec.quoteAmount),
        tokenProgram: tokenProgramOf(spec, TOKEN_2022_PROGRAM_ID),
      };
      if (spec.feeRecipient) args.feeRecipient = pk(spec.feeRecipient);
      if (spec.buybackFeeRecipient) args.buybackFeeRecipient = pk(spec.buybackFeeRecipient);
      const build = spec.kind === "buy_v2_raw" ? "getBuyV2InstructionRaw" : "getSellV2InstructionRaw";
      return [await PUMP_SDK[build](args)];
    }
    case "buy_raw":
    case "sell_raw": {
      const args = {
        user: pk(spec.user), mint: pk(spec.mint), creator: pk(spec.creator),
        amount: bn(spec.amount), solAmount: bn(spec.solAmount),
        tokenProgram: tokenProgramOf(spec, TOKEN_PROGRAM_ID),
      };
      if (spec.feeRecipient) args.feeRecipient = pk(spec.feeRecipient);
      if (spec.buybackFeeRecipient) args.buybackFeeRecipient = pk(spec.buybackFeeRecipient);
      const build = spec.kind === "buy_raw" ? "getBuyInstructionRaw" : "getSellInstructionRaw";
      return [await PUMP_SDK[build](args)];
    }
    case "buy_v2": {
      const sdk = need();
      const tokenProgram = tokenProgramOf(spec, TOKEN_2022_PROGRAM_ID);
      const global = await sdk.fetchGlobal();
      const state = await sdk.fetchBuyState(pk(spec.mint), pk(spec.user), tokenProgram);
      return await PUMP_SDK.buyV2Instructions({
        global, ...state, mint: pk(spec.mint), user: pk(spec.user), amount: bn(spec.amount),
        quoteAmount: bn(spec.quoteAmount), slippage: Number(spec.slippage ?? 1), tokenProgram,
      });
    }
    case "sell_v2": {
      const sdk = need();
      const tokenProgram = tokenProgramOf(spec, TOKEN_2022_PROGRAM_ID);
      const global = await sdk.fetchGlobal();
      const state = await sdk.fetchSellState(pk(spec.mint), pk(spec.user), tokenProgram);
      return await PUMP_SDK.sellV2Instructions({
        global, ...state, mint: pk(spec.mint), user: pk(spec.user), amount: bn(spec.amount),
        quoteAmount: bn(spec.quoteAmount), slippage: Number(spec.slippage ?? 1), tokenProgram,
      });
    }
    default:
      if (swap.kinds[spec.kind]) return await swap.kinds[spec.kind](spec, connection);
      throw new Error(`unknown instruction kind ${spec.kind}`);
  }
}

async function tx(req) {
  const connection = req.rpc ? new Connection(req.rpc, "processed") : null;
  const instructions = [];
  for (const spec of req.instructions) instructions.push(...(await instructionsFor(spec, connection)));
  const signers = (req.signers || []).map((s) => Keypair.fromSecretKey(Buffer.from(s, "base64")));
  const message = new TransactionMessage({
    payerKey: pk(req.payer),
    recentBlockhash: req.blockhash,
    instructions,
  }).compileToV0Message();
  const transaction = new VersionedTransaction(message);
  const needed = new Set(
    message.staticAccountKeys
      .slice(0, message.header.numRequiredSignatures)
      .map((k) => k.toBase58()),
  );
  transaction.sign(signers.filter((s) => needed.has(s.publicKey.toBase58())));
  return {
    transaction: Buffer.from(transaction.serialize()).toString("base64"),
    instructions: instructions.map(ixJson),
  };
}

const OPS = { pdas, decode, quote, fetch: fetchState, tx, ...swap.ops };

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
