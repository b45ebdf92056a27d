-- summary_by_region: one row per region (NULL: pairs with no internal row or no region).
-- Key: region.
-- Reads message_facts. Counts are of (message_id, recipient) pairs, by the counting rules of
-- docs/views.md; rates are doubles, NULL where the denominator is 0.
-- `seslake summary --by COLUMN` runs this same query grouped by other columns.
create or replace view summary_by_region as

with facts as (

    select * from message_facts

),

counted as (

    select
        region,
        count_if(is_requested) as requested,
        count_if(is_sent) as sent,
        count_if(is_delivered) as delivered,
        count_if(is_bounced) as bounced,
        count_if(is_hard_bounced) as hard_bounced,
        count_if(is_soft_bounced) as soft_bounced,
        count_if(is_suppressed) as suppressed,
        count_if(is_reputation_bounce) as reputation_bounced,
        count_if(is_complained) as complained,
        count_if(is_rejected) as rejected,
        count_if(is_delayed) as delayed,
        count_if(is_opened) as opened,
        count_if(is_clicked) as clicked,
        count_if(is_human_opened) as human_opened,
        count_if(is_human_clicked) as human_clicked,
        count_if(is_unsubscribed) as unsubscribed
    from facts
    group by region

),

final as (

    select
        region,
        requested,
        sent,
        delivered,
        bounced,
        hard_bounced,
        soft_bounced,
        suppressed,
        reputation_bounced,
        complained,
        rejected,
        delayed,
        opened,
        clicked,
        human_opened,
        human_clicked,
        unsubscribed,
        cast(delivered as double) / nullif(sent, 0) as delivery_rate,
        cast(bounced as double) / nullif(sent, 0) as bounce_rate,
        cast(complained as double) / nullif(delivered, 0) as complaint_rate,
        cast(opened as double) / nullif(delivered, 0) as open_rate,
        cast(clicked as double) / nullif(delivered, 0) as click_rate,
        cast(clicked as double) / nullif(opened, 0) as click_to_open_rate,
        cast(human_opened as double) / nullif(delivered, 0) as human_open_rate,
        cast(human_clicked as double) / nullif(delivered, 0) as human_click_rate,
        cast(reputation_bounced as double) / nullif(sent, 0) as hard_bounce_rate
    from counted

)

select * from final
