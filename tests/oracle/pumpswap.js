// PumpSwap part of the test oracle: the official @pump-fun/pump-swap-sdk 1.20.0 (and pump-sdk's
// migrate builders) build, decode and price what localnet's PumpSwap must accept. Used by
// oracle.js, which adds these ops and instruction kinds to its own.
//
// Ops:
//   {"op": "amm_pdas", "mint"?, "user"?, "coinCreator"?}  -> the SDK's PumpSwap PDAs
//   {"op": "amm_decode", "globalConfig"?, "feeConfig"?, "pool"?, "events"?: [base64]}
//        account data / "Program data:" payloads as base64 -> the SDK's decoders (BN as strings);
//        events are decoded with the PumpSwap coder, else pump's (CompletePumpAmmMigrationEvent)
//   {"op": "amm_quote", "state": STATE, "buyBase"?, "buyQuote"?, "sellBase"?, "slippage"?}
//        -> buyBaseInput / buyQuoteInput / sellBaseInput and computeFeesBps on that state
//   {"op": "amm_fetch", "rpc", "pool", "user"}           -> OnlinePumpAmmSdk.swapSolanaState
//
// STATE (offline SwapSolanaState): {"pool": key, "user": key, "accounts": {"globalConfig",
// "feeConfig"|null, "pool", "baseMint", "poolBase", "poolQuote", "userBase"|null,
// "userQuote"|null}} with each account {"data": base64, "owner": key} (null = missing).
//
// Instruction kinds (in a "tx" request): amm_buy {state | (rpc + pool), base, maxQuote};
// amm_buy_base {.., base, slippage}; amm_buy_quote {.., quote, slippage}; amm_sell {.., base,
// minQuote}; amm_sell_base {.., base, slippage}; amm_buy_exact_quote_in {.., quote, minBase}
// (the SDK's buy account list with buy_exact_quote_in data, as its buyQuoteSimulation.spec.ts
// does); migrate {withdrawAuthority, mint, user, tokenProgram?}; migrate_v2 {..., quoteMint?,
// baseTokenProgram?}.
"use strict";

const { Connection, PublicKey, TransactionInstruction } = require("@solana/web3.js");
const {
  getAssociatedTokenAddressSync,
  MintLayout,
  AccountLayout,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} = require("@solana/spl-token");
const BN = require("bn.js");
const amm = require("@pump-fun/pump-swap-sdk");
const pump = require("@pump-fun/pump-sdk");

const SDK = amm.PUMP_AMM_SDK;
const AMM_CODER = amm.OFFLINE_PUMP_AMM_PROGRAM.coder;
const PUMP_CODER = pump.getPumpProgram(null).coder;

function pk(value) {
  return new PublicKey(value);
}

function bn(value) {
  return new BN(String(value));
}

function plain(value) {
  if (value === null || value === undefined) return value;
  if (BN.isBN(value)) return value.toString(10);
  if (value instanceof PublicKey) return value.toBase58();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (typeof value === "bigint") return value.toString(10);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

function info(account, fallbackOwner) {
  if (!account) return null;
  const data = typeof account === "string" ? account : account.data;
  const owner = typeof account === "string" ? fallbackOwner : account.owner;
  return {
    data: Buffer.from(data, "base64"),
    executable: false,
    lamports: 0,
    owner: pk(owner || fallbackOwner || amm.PUMP_AMM_PROGRAM_ID),
  };
}

function pdas(req) {
  const out = {
    program: amm.PUMP_AMM_PROGRAM_ID.toBase58(),
    globalConfig: amm.GLOBAL_CONFIG_PDA.toBase58(),
    feeConfig: amm.PUMP_AMM_FEE_CONFIG_PDA.toBase58(),
    eventAuthority: amm.PUMP_AMM_EVENT_AUTHORITY_PDA.toBase58(),
    globalVolumeAccumulator: amm.GLOBAL_VOLUME_ACCUMULATOR_PDA.toBase58(),
  };
  if (req.mint) {
    const mint = pk(req.mint);
    const pool = amm.canonicalPumpPoolPda(mint);
    out.pool = pool.toBase58();
    out.poolAuthority = amm.pumpPoolAuthorityPda(mint).toBase58();
    out.poolV2 = amm.poolV2Pda(mint).toBase58();
    out.lpMint = amm.lpMintPda(pool).toBase58();
  }
  if (req.user) out.userVolumeAccumulator = amm.userVolumeAccumulatorPda(pk(req.user)).toBase58();
  if (req.coinCreator) {
    const authority = amm.coinCreatorVaultAuthorityPda(pk(req.coinCreator));
    out.coinCreatorVaultAuthority = authority.toBase58();
    out.coinCreatorVaultAta = amm
      .coinCreatorVaultAtaPda(authority, new PublicKey(amm.SOL_LIKE_QUOTE_MINTS[1]), TOKEN_PROGRAM_ID)
      .toBase58();
  }
  return out;
}

function decodeEvent(b64) {
  const fromAmm = AMM_CODER.events.decode(b64);
  if (fromAmm) return { name: fromAmm.name, program: "amm", data: plain(fromAmm.data) };
  const fromPump = PUMP_CODER.events.decode(b64);
  if (fromPump) return { name: fromPump.name, program: "pump", data: plain(fromPump.data) };
  return { name: null };
}

function decode(req) {
  const out = {};
  if (req.globalConfig) out.globalConfig = plain(SDK.decodeGlobalConfig(info(req.globalConfig)));
  if (req.feeConfig) {
    out.feeConfig = plain(SDK.decodeFeeConfig(info(req.feeConfig, amm.PUMP_FEE_PROGRAM_ID)));
  }
  if (req.pool) out.pool = plain(SDK.decodePool(info(req.pool)));
  if (req.events) out.events = req.events.map(decodeEvent);
  return out;
}

// An offline SwapSolanaState from raw accounts, built the way OnlinePumpAmmSdk.swapSolanaState
// builds it from RPC.
function offlineState(spec) {
  const a = spec.accounts;
  const globalConfig = SDK.decodeGlobalConfig(info(a.globalConfig));
  const feeConfig = a.feeConfig ? SDK.decodeFeeConfig(info(a.feeConfig, amm.PUMP_FEE_PROGRAM_ID)) : null;
  const poolAccountInfo = info(a.pool);
  const pool = SDK.decodePool(poolAccountInfo);
  const baseMintInfo = info(a.baseMint);
  const baseTokenProgram = baseMintInfo.owner;
  const quoteTokenProgram = TOKEN_PROGRAM_ID;
  const user = pk(spec.user);
  const poolBase = AccountLayout.decode(info(a.poolBase).data);
  const poolQuote = AccountLayout.decode(info(a.poolQuote).data);
  return {
    globalConfig,
    feeConfig,
    poolKey: pk(spec.pool),
    poolAccountInfo,
    pool,
    poolBaseAmount: new BN(poolBase.amount.toString()),
    poolQuoteAmount: new BN(poolQuote.amount.toString()),
    baseTokenProgram,
    quoteTokenProgram,
    baseMint: pool.baseMint,
    baseMintAccount: MintLayout.decode(baseMintInfo.data),
    user,
    userBaseTokenAccount: getAssociatedTokenAddressSync(pool.baseMint, user, true, baseTokenProgram),
    userQuoteTokenAccount: getAssociatedTokenAddressSync(pool.quoteMint, user, true, quoteTokenProgram),
    userBaseAccountInfo: info(a.userBase),
    userQuoteAccountInfo: info(a.userQuote),
  };
}

async function swapState(spec, connection) {
  if (spec.state) return offlineState(spec.state);
  if (!connection) throw new Error(`${spec.kind} needs "state" or "rpc"`);
  return await new amm.OnlinePumpAmmSdk(connection).swapSolanaState(pk(spec.pool), pk(spec.user));
}

function quoteArgs(state) {
  const { pool } = state;
  return {
    baseReserve: state.poolBaseAmount,
    quoteReserve: state.poolQuoteAmount,
    virtualQuoteReserves: pool.virtualQuoteReserves,
    globalConfig: state.globalConfig,
    baseMintAccount: state.baseMintAccount,
    baseMint: state.baseMint,
    coinCreator: pool.coinCreator,
    creator: pool.creator,
    feeConfig: state.feeConfig,
    quoteMint: pool.quoteMint,
    isMayhemMode: pool.isMayhemMode,
    creatorFeeBps: pool.creatorFeeBps,
  };
}

function quote(req) {
  const state = offlineState(req.state);
  const args = quoteArgs(state);
  const slippage = Number(req.slippage ?? 0);
  const out = {
    effectiveQuoteReserve: state.poolQuoteAmount.add(state.pool.virtualQuoteReserves).toString(10),
    feesBps: plain(
      amm.computeFeesBps({
        globalConfig: state.globalConfig,
        feeConfig: state.feeConfig,
        creator: state.pool.creator,
        baseMintSupply: new BN(state.baseMintAccount.supply.toString()),
        baseMint: state.baseMint,
        baseReserve: state.poolBaseAmount,
        quoteReserve: state.poolQuoteAmount.add(state.pool.virtualQuoteReserves),
        quoteMint: state.pool.quoteMint,
        isMayhemMode: state.pool.isMayhemMode,
        creatorFeeBps: state.pool.creatorFeeBps,
      }),
    ),
  };
  if (req.buyBase != null) out.buyBase = plain(amm.buyBaseInput({ ...args, base: bn(req.buyBase), slippage }));
  if (req.buyQuote != null) out.buyQuote = plain(amm.buyQuoteInput({ ...args, quote: bn(req.buyQuote), slippage }));
  if (req.sellBase != null) out.sellBase = plain(amm.sellBaseInput({ ...args, base: bn(req.sellBase), slippage }));
  return out;
}

async function fetchState(req) {
  const state = await new amm.OnlinePumpAmmSdk(new Connection(req.rpc, "processed")).swapSolanaState(
    pk(req.pool),
    pk(req.user),
  );
  return {
    globalConfig: plain(state.globalConfig),
    feeConfig: plain(state.feeConfig),
    pool: plain(state.pool),
    poolBaseAmount: state.poolBaseAmount.toString(10),
    poolQuoteAmount: state.poolQuoteAmount.toString(10),
    baseTokenProgram: state.baseTokenProgram.toBase58(),
    baseMintSupply: state.baseMintAccount.supply.toString(),
  };
}

const kinds = {
  async amm_buy(spec, connection) {
    return await SDK.buyInstructions(await swapState(spec, connection), bn(spec.base), bn(spec.maxQuote));
  },
  async amm_buy_base(spec, connection) {
    return await SDK.buyBaseInput(await swapState(spec, connection), bn(spec.base), Number(spec.slippage));
  },
  async amm_buy_quote(spec, connection) {
    return await SDK.buyQuoteInput(await swapState(spec, connection), bn(spec.quote), Number(spec.slippage));
  },
  async amm_sell(spec, connection) {
    return await SDK.sellInstructions(await swapState(spec, connection), bn(spec.base), bn(spec.minQuote));
  },
  async amm_sell_base(spec, connection) {
    return await SDK.sellBaseInput(await swapState(spec, connection), bn(spec.base), Number(spec.slippage));
  },
  async amm_buy_exact_quote_in(spec, connection) {
    const state = await swapState(spec, connection);
    // the buy instruction's accounts, buy_exact_quote_in's data (buyQuoteSimulation.spec.ts)
    const instructions = await SDK.buyInstructions(state, bn(spec.minBase), bn(spec.quote));
    const index = instructions.findIndex(
      (ix) => ix.programId.equals(amm.PUMP_AMM_PROGRAM_ID) && ix.data.length > 8,
    );
    const data = AMM_CODER.instruction.encode("buyExactQuoteIn", {
      spendableQuoteIn: bn(spec.quote),
      minBaseAmountOut: bn(spec.minBase),
      trackVolume: { 0: true },
    });
    instructions[index] = new TransactionInstruction({
      programId: instructions[index].programId,
      keys: instructions[index].keys,
      data,
    });
    return instructions;
  },
  async migrate(spec) {
    return [
      await pump.PUMP_SDK.migrateInstruction({
        withdrawAuthority: pk(spec.withdrawAuthority),
        mint: pk(spec.mint),
        user: pk(spec.user),
        tokenProgram: spec.tokenProgram ? pk(spec.tokenProgram) : TOKEN_2022_PROGRAM_ID,
      }),
    ];
  },
  async migrate_v2(spec) {
    return [
      await pump.PUMP_SDK.migrateV2Instruction({
        withdrawAuthority: pk(spec.withdrawAuthority),
        mint: pk(spec.mint),
        user: pk(spec.user),
        quoteMint: spec.quoteMint ? pk(spec.quoteMint) : undefined,
        baseTokenProgram: spec.baseTokenProgram ? pk(spec.baseTokenProgram) : TOKEN_2022_PROGRAM_ID,
        quoteTokenProgram: TOKEN_PROGRAM_ID,
      }),
    ];
  },
};

module.exports = {
  ops: { amm_pdas: pdas, amm_decode: decode, amm_quote: quote, amm_fetch: fetchState },
  kinds,
};
