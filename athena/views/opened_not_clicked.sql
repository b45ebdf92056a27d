-- opened_not_clicked: one row per (message_id, recipient) that opened and never clicked.
-- Reads message_facts. Key: message_id, recipient. Opened here means at least one open event
-- (a click would prove an open, but these pairs have none). Columns: every message_facts column,
-- so first_opened_at, open_count and the internal columns are there.
create or replace view opened_not_clicked as

with facts as (

    select * from message_facts

),

final as (

    select *
    from facts
    where open_count > 0
        and click_count = 0

)

select * from final
