// Yellowstone gRPC part of the test oracle: the official Node client
// @triton-one/yellowstone-grpc 7.0.1 (its native Rust channel and its own protobuf decoders, code
// nobody here wrote) subscribes to a localnet Geyser endpoint and reports what it received.
// Transactions are also run through the client's txEncode (the Rust solana-transaction-status
// conversion to a JSON UI transaction) and txErrDecode (bincode TransactionError), so the
// protobuf shape must be the real one.
//
// stdin:  {"endpoint": URL, "x_token": T|null, "request": SubscribeRequest (the client's JS shape;
//          commitment as a number), "count": N (updates other than ping/pong to wait for),
//          "until_slot": S (or stop at the first slot update for slot >= S), "timeout_ms": MS,
//          "unary": bool (also call the unary methods first)}
//         or {"decode_errors": [HEX]}: decode bincode TransactionErrors with txErrDecode
// stdout: JSON lines: {"event":"unary",...}, {"event":"subscribed"}, one {"event":"update",...}
//         per update, then {"event":"done"} or {"event":"error","code":N,"details":"..."}.
"use strict";

const { default: Client, txEncode, txErrDecode } = require("@triton-one/yellowstone-grpc");
const bs58 = require("bs58").default || require("bs58");

function read() {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => resolve(JSON.parse(text)));
    process.stdin.on("error", reject);
  });
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const b58 = (bytes) => bs58.encode(Buffer.from(bytes));

function emptyRequest() {
  return {
    accounts: {}, slots: {}, transactions: {}, transactionsStatus: {}, blocks: {},
    blocksMeta: {}, entry: {}, accountsDataSlice: [],
  };
}

// the client's encoder wants every repeated field present
function withDefaults(request) {
  const full = { ...emptyRequest(), ...request };
  const each = (map, defaults) =>
    Object.fromEntries(Object.entries(map).map(([name, f]) => [name, { ...defaults, ...f }]));
  full.accounts = each(full.accounts, { account: [], owner: [], filters: [] });
  const txDefaults = { accountInclude: [], accountExclude: [], accountRequired: [] };
  full.transactions = each(full.transactions, txDefaults);
  full.transactionsStatus = each(full.transactionsStatus, txDefaults);
  return full;
}

function summarize(update) {
  const base = { event: "update", filters: update.filters };
  if (update.transaction) {
    const info = update.transaction.transaction;
    const ui = txEncode.encode(info, txEncode.encoding.Json, 0, false);
    const meta = info.meta;
    return {
      ...base, kind: "transaction", slot: Number(update.transaction.slot),
      signature: b58(info.signature), index: Number(info.index), isVote: info.isVote,
      err: meta.err ? txErrDecode.decode(meta.err.err) : null,
      fee: Number(meta.fee), logs: meta.logMessages,
      preBalances: meta.preBalances.map(Number), postBalances: meta.postBalances.map(Number),
      accountKeys: ui.transaction.message.accountKeys,
      instructions: ui.transaction.message.instructions,
      loadedAddresses: ui.meta.loadedAddresses,
      uiErr: ui.meta.err,
      uiSignatures: ui.transaction.signatures,
    };
  }
  if (update.transactionStatus) {
    const s = update.transactionStatus;
    return { ...base, kind: "transaction_status", slot: Number(s.slot), signature: b58(s.signature),
      index: Number(s.index), err: s.err ? txErrDecode.decode(s.err.err) : null };
  }
  if (update.account) {
    const a = update.account.account;
    return { ...base, kind: "account", slot: Number(update.account.slot), pubkey: b58(a.pubkey),
      owner: b58(a.owner), lamports: Number(a.lamports), data: Buffer.from(a.data).toString("base64"),
      writeVersion: Number(a.writeVersion) };
  }
  if (update.slot) {
    return { ...base, kind: "slot", slot: Number(update.slot.slot), status: update.slot.status };
  }
  if (update.blockMeta) {
    return { ...base, kind: "block_meta", slot: Number(update.blockMeta.slot),
      blockhash: update.blockMeta.blockhash,
      executedTransactionCount: Number(update.blockMeta.executedTransactionCount) };
  }
  if (update.ping) return { ...base, kind: "ping" };
  if (update.pong) return { ...base, kind: "pong", id: update.pong.id };
  return { ...base, kind: "other" };
}

async function main() {
  const input = await read();
  if (input.decode_errors) {  // bincode TransactionErrors (hex) through the client's decoder
    const errors = input.decode_errors.map((hex) => {
      try {
        return txErrDecode.decode(Buffer.from(hex, "hex"));
      } catch (e) {
        return { failed: String(e) };
      }
    });
    out({ event: "decoded", errors });
    process.exit(0);
  }
  const client = new Client(input.endpoint, input.x_token || undefined, undefined);
  const timer = setTimeout(() => {
    out({ event: "timeout" });
    process.exit(3);
  }, input.timeout_ms);
  try {
    await client.connect();
    if (input.unary) {
      const latest = await client.getLatestBlockhash(1);
      out({ event: "unary",
        ping: (await client.ping(7)).count,
        slot: Number((await client.getSlot(0)).slot),
        confirmedSlot: Number((await client.getSlot(1)).slot),
        blockHeight: Number((await client.getBlockHeight(0)).blockHeight),
        latest: { slot: Number(latest.slot), blockhash: latest.blockhash,
          lastValidBlockHeight: Number(latest.lastValidBlockHeight) },
        valid: (await client.isBlockhashValid(latest.blockhash, 0)).valid,
        version: (await client.getVersion()).version,
      });
    }
    const stream = await client.subscribe();
    let received = 0;
    const finished = new Promise((resolve) => {
      stream.on("data", (update) => {
        const s = summarize(update);
        out(s);
        if (s.kind !== "ping" && s.kind !== "pong") received += 1;
        if (received >= input.count) resolve({ event: "done" });
        if (input.until_slot && s.kind === "slot" && s.slot >= input.until_slot) {
          resolve({ event: "done" });
        }
      });
      stream.on("error", (e) => resolve({ event: "error", code: e.code, details: e.details || e.message }));
      stream.on("end", () => resolve({ event: "ended" }));
    });
    await new Promise((resolve, reject) => stream.write(withDefaults(input.request),
      (err) => (err ? reject(err) : resolve())));
    out({ event: "subscribed" });
    out(await finished);
    stream.destroy();
  } catch (e) {
    out({ event: "error", code: e.code, details: e.details || e.message, text: String(e),
      cause: e.cause ? String(e.cause) : null, status: e.status });
  }
  clearTimeout(timer);
  process.exit(0);
}

main();
