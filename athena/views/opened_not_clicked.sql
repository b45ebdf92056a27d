-- opened_not_clicked: one row per (message_id, recipient) that a person opened and no person
-- clicked. Reads message_facts. Key: message_id, recipient. A person's open and click are as the
-- engagement view judges them: Apple's privacy prefetch, security scanners and bots are not
-- people (a scanner's click does not take a pair out; its prefetch does not put one in).
-- Columns: every message_facts column, so first_human_opened_at and the internal columns are
-- there.
create or replace view opened_not_clicked as

with facts as (

    select * from message_facts

),

final as (

    select *
    from facts
    where is_human_opened
        and not is_human_clicked

)

select * from final
