// Fork job: renders a small text per item. About 1 in 500 items fails on its
// first attempt (a "timeout" of some backend) and succeeds on a retry.
export default async function render(batch) {
  const results = [];
  for (const item of batch.items) {
    const { n } = item.payload;
    const text = `Invoice #${n}: ${"*".repeat(n % 40)}`;
    if (n % 500 === 7 && item.attempts === 0) results.push({ id: item.id, ok: false, error: "backend timeout" });
    else results.push({ id: item.id, ok: text.length > 0 });
  }
  return { results };
}
