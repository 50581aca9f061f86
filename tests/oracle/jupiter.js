// Jupiter part of the test oracle: @jup-ag/api 6.0.48's model deserializers (the client nobody
// here wrote) parse localnet's /quote, /swap and /swap-instructions bodies, and @solana/web3.js
// decodes the swap transactions; the Price API v3 has no model there, so its body is checked
// field by field.
//
// stdin: {"quote": QUOTE, "feeQuote": QUOTE, "swap": SWAP, "legacySwap": SWAP, "jitoSwap": SWAP,
//         "swapInstructions": SWAP_INSTRUCTIONS, "price": PRICE, "tipAccounts": [key]}
// stdout: the parsed fields (JSON), or a non-zero exit with the reason on stderr.
"use strict";

const {
  QuoteResponseFromJSON,
  SwapResponseFromJSON,
  SwapInstructionsResponseFromJSON,
  instanceOfQuoteResponse,
  instanceOfSwapResponse,
  instanceOfSwapInstructionsResponse,
} = require("@jup-ag/api");
const { VersionedTransaction, SystemProgram, SystemInstruction, TransactionInstruction } =
  require("@solana/web3.js");

function read() {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => resolve(JSON.parse(text)));
    process.stdin.on("error", reject);
  });
}

function quote(body) {
  if (!instanceOfQuoteResponse(body)) throw new Error("not a QuoteResponse: " + JSON.stringify(body));
  const q = QuoteResponseFromJSON(body);
  return {
    inputMint: q.inputMint,
    inAmount: q.inAmount,
    outputMint: q.outputMint,
    outAmount: q.outAmount,
    otherAmountThreshold: q.otherAmountThreshold,
    swapMode: q.swapMode,
    slippageBps: q.slippageBps,
    platformFee: q.platformFee === undefined ? "absent" : q.platformFee,
    priceImpactPct: q.priceImpactPct,
    routePlan: q.routePlan.map((s) => ({
      ammKey: s.swapInfo.ammKey,
      label: s.swapInfo.label,
      inAmount: s.swapInfo.inAmount,
      outAmount: s.swapInfo.outAmount,
      percent: s.percent,
      bps: s.bps,
    })),
    contextSlot: q.contextSlot,
  };
}

function transaction(base64, tipAccounts) {
  const tx = VersionedTransaction.deserialize(Buffer.from(base64, "base64"));
  const msg = tx.message;
  const keys = msg.staticAccountKeys;
  const tips = [];
  for (const c of msg.compiledInstructions) {
    if (!keys[c.programIdIndex].equals(SystemProgram.programId)) continue;
    const ix = new TransactionInstruction({
      programId: SystemProgram.programId,
      keys: c.accountKeyIndexes.map((i) => ({
        pubkey: keys[i],
        isSigner: msg.isAccountSigner(i),
        isWritable: msg.isAccountWritable(i),
      })),
      data: Buffer.from(c.data),
    });
    if (SystemInstruction.decodeInstructionType(ix) !== "Transfer") continue;
    const t = SystemInstruction.decodeTransfer(ix);
    if (tipAccounts.includes(t.toPubkey.toBase58())) {
      tips.push({ from: t.fromPubkey.toBase58(), to: t.toPubkey.toBase58(), lamports: t.lamports.toString() });
    }
  }
  return {
    version: msg.version,
    feePayer: keys[0].toBase58(),
    requiredSignatures: msg.header.numRequiredSignatures,
    programs: msg.compiledInstructions.map((c) => keys[c.programIdIndex].toBase58()),
    tips,
  };
}

function swap(body, tipAccounts) {
  if (!instanceOfSwapResponse(body)) throw new Error("not a SwapResponse: " + JSON.stringify(body));
  const s = SwapResponseFromJSON(body);
  return {
    lastValidBlockHeight: s.lastValidBlockHeight,
    prioritizationFeeLamports: s.prioritizationFeeLamports,
    transaction: transaction(s.swapTransaction, tipAccounts),
  };
}

function swapInstructions(body) {
  if (!instanceOfSwapInstructionsResponse(body)) throw new Error("not a SwapInstructionsResponse");
  const s = SwapInstructionsResponseFromJSON(body);
  const program = (i) => i.programId;
  return {
    computeBudget: s.computeBudgetInstructions.map(program),
    setup: s.setupInstructions.map(program),
    swap: program(s.swapInstruction),
    cleanup: s.cleanupInstruction === undefined || s.cleanupInstruction === null ? null : program(s.cleanupInstruction),
    other: s.otherInstructions.map(program),
    addressLookupTableAddresses: s.addressLookupTableAddresses,
  };
}

function price(body) {
  const out = {};
  for (const [mint, p] of Object.entries(body)) {
    if (typeof p.usdPrice !== "number" || typeof p.decimals !== "number") {
      throw new Error(`price of ${mint} lacks a numeric usdPrice/decimals`);
    }
    if (!(p.blockId === null || Number.isInteger(p.blockId))) throw new Error("blockId");
    if (Number.isNaN(Date.parse(p.createdAt))) throw new Error(`createdAt ${p.createdAt}`);
    out[mint] = { usdPrice: p.usdPrice, decimals: p.decimals, liquidity: p.liquidity };
  }
  return out;
}

read()
  .then((input) => {
    const tips = input.tipAccounts || [];
    const result = {
      quote: quote(input.quote),
      feeQuote: quote(input.feeQuote),
      swap: swap(input.swap, tips),
      legacySwap: swap(input.legacySwap, tips),
      jitoSwap: swap(input.jitoSwap, tips),
      swapInstructions: swapInstructions(input.swapInstructions),
      price: price(input.price),
    };
    process.stdout.write(JSON.stringify(result));
  })
  .catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(1);
  });
