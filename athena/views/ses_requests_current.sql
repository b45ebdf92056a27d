-- ses_requests_current: one row per request of ses_requests, as its most recent load gave it.
-- Key: message_id, recipient (recipient NULL: a message-level row, one per message).
-- Reads ses_requests. A request loaded again (another file, or the same file changed) keeps
-- only the row of its latest load: the greatest loaded_at, then the greatest loaded_from; rows
-- loaded before loaded_at existed count as the oldest. Every view reads the company's data
-- through this one, so a request is never counted twice. Columns: the key columns, then every
-- other column of ses_requests (listed when the view is created: see docs/views.md).
create or replace view ses_requests_current as

with ranked as (

    select
        *,
        row_number() over (
            partition by message_id, recipient
            order by loaded_at desc nulls last, loaded_from desc nulls last
        ) as load_rank
    from ses_requests

),

final as (

    select
        ranked.message_id,
        ranked.recipient,
        ranked.request_time,
        ranked.region,
        ranked.loaded_at,
        ranked.loaded_from /* seslake:internal-columns ranked */
    from ranked
    where ranked.load_rank = 1

)

select * from final
