#!/usr/bin/env node
// Oracle for the hot path's signed first buy (tests/hotpath/test_build_oracle.py): the official
// @pump-fun/pump-sdk 2.0.0 prices the fresh curve and builds the buy (its high-level
// `buyInstructions`, ATA create included), @solana/web3.js builds the nonce advance, compute
// budget and tip instructions and decodes the bot's signed bytes, @noble/curves checks the
// signature. Reads ONE JSON value on stdin (a request or a list of them), writes the answers.
//
//   {"global", "feeConfig"|null, "bondingCurve" (account data, base64), "mintSupply",
//    "user", "mint", "tokenProgram", "solAmount", "slippagePercent", "nonceAccount",
//    "nonceValue", "cuLimit", "cuPrice", "tipLamports", "tipAccount"|null, "tx" (base64)}
//     -> {tokenAmount, built: [ix...] (as the builders return them), expected: [ix...] (the
//         same compiled by web3.js into a v0 message and decompiled), actual: [ix...] (our
//         bytes decompiled), recentBlockhash, feePayer, signers, signatureValid, reserialized}
//
// The SDK picks fee recipients with Math.random; it is pinned to 0 here, so the SDK takes the
// first of each list (Global's fee_recipient / reserved_fee_recipient, the first buyback key).
"use strict";

const {
  ComputeBudgetProgram, PublicKey, SystemProgram, TransactionMessage, VersionedTransaction,
} = require("@solana/web3.js");
const { ed25519 } = require("@noble/curves/ed25519");
const BN = require("bn.js");
const pump = require("@pump-fun/pump-sdk");

const { PUMP_SDK } = pump;
Math.random = () => 0;

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

async function answer(req) {
  const global = PUMP_SDK.decodeGlobal(info(req.global));
  const feeConfig = req.feeConfig
    ? PUMP_SDK.decodeFeeConfig(info(req.feeConfig, pump.PUMP_FEE_PROGRAM_ID))
    : null;
  const curveInfo = info(req.bondingCurve);
  const bondingCurve = PUMP_SDK.decodeBondingCurve(curveInfo);
  const user = pk(req.user);
  const solAmount = bn(req.solAmount);
  const tokenAmount = pump.getBuyTokenAmountFromSolAmount({
    global, feeConfig, mintSupply: bn(req.mintSupply), bondingCurve, amount: solAmount,
    quoteMint: bondingCurve.quoteMint,
  });
  const expected = [
    SystemProgram.nonceAdvance({ noncePubkey: pk(req.nonceAccount), authorizedPubkey: user }),
    ComputeBudgetProgram.setComputeUnitLimit({ units: Number(req.cuLimit) }),
  ];
  if (Number(req.cuPrice) > 0) {
    expected.push(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: BigInt(req.cuPrice) }));
  }
  expected.push(...await PUMP_SDK.buyInstructions({
    global, bondingCurveAccountInfo: curveInfo, bondingCurve, associatedUserAccountInfo: null,
    mint: pk(req.mint), user, amount: tokenAmount, solAmount,
    slippage: Number(req.slippagePercent), tokenProgram: pk(req.tokenProgram),
  }));
  if (req.tipAccount) {
    expected.push(SystemProgram.transfer({
      fromPubkey: user, toPubkey: pk(req.tipAccount), lamports: BigInt(req.tipLamports),
    }));
  }
  const raw = Buffer.from(req.tx, "base64");
  const tx = VersionedTransaction.deserialize(raw);
  const message = TransactionMessage.decompile(tx.message);
  const signers = tx.message.staticAccountKeys
    .slice(0, tx.message.header.numRequiredSignatures).map((k) => k.toBase58());
  // what the chain sees: flags are the message's (the fee payer is a writable signer everywhere)
  const compiled = new TransactionMessage({
    payerKey: user, recentBlockhash: req.nonceValue, instructions: expected,
  }).compileToV0Message();
  return {
    tokenAmount: tokenAmount.toString(10),
    built: expected.map(ixJson),
    expected: TransactionMessage.decompile(compiled).instructions.map(ixJson),
    actual: message.instructions.map(ixJson),
    recentBlockhash: message.recentBlockhash,
    feePayer: message.payerKey.toBase58(),
    signers,
    signatureValid: ed25519.verify(tx.signatures[0], tx.message.serialize(), user.toBytes()),
    reserialized: Buffer.from(tx.serialize()).equals(raw),
  };
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
