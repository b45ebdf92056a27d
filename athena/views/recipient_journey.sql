-- recipient_journey: one row per unique event, numbered per (message_id, recipient).
-- Reads ses_events_unique. Key: event_id; order: message_id, recipient, step.
-- step: 1, 2, 3... by event_at, ties broken by lifecycle order (send < reject <
-- rendering_failure < delivery_delay < delivery < bounce < open < click < complaint <
-- subscription), then event_id. detail: a short human-readable text of what happened.
-- engagement (opens and clicks; NULL for other events): what the open or click was judged by
-- the engagement view (human, image_proxy, apple_privacy_proxy, scanner, bot); detail says why.
create or replace view recipient_journey as

with events as (

    select * from ses_events_unique

),

judgements as (

    select event_id, engagement, engagement_reason from engagement

),

described as (

    select
        events.event_id,
        events.message_id,
        events.recipient,
        events.event_type,
        events.event_at,
        events.sent_at,
        judgements.engagement,
        case event_type
            when 'send' then 1
            when 'reject' then 2
            when 'rendering_failure' then 3
            when 'delivery_delay' then 4
            when 'delivery' then 5
            when 'bounce' then 6
            when 'open' then 7
            when 'click' then 8
            when 'complaint' then 9
            when 'subscription' then 10
        end as lifecycle_rank,
        case event_type
            when 'bounce' then
                coalesce(bounce_type, 'Undetermined')
                || coalesce('/' || bounce_subtype, '')
                || coalesce(': ' || diagnostic_code, '')
            when 'delivery' then smtp_response
            when 'delivery_delay' then
                coalesce(delay_type, 'delayed') || coalesce(': ' || diagnostic_code, '')
            when 'open' then
                judgements.engagement_reason || coalesce(' (' || user_agent || ')', '')
            when 'click' then
                link || ' - ' || judgements.engagement_reason
                || coalesce(' (' || user_agent || ')', '')
            when 'complaint' then coalesce(complaint_feedback_type, 'complaint')
            when 'reject' then reject_reason
            when 'rendering_failure' then
                coalesce(template_name || ': ', '') || error_message
            when 'subscription' then
                case
                    when unsubscribe_all then 'unsubscribed from all'
                    when is_opt_out then 'opted out of a topic'
                    else 'subscription preferences changed'
                end
            when 'send' then 'accepted by SES'
        end as detail
    from events
    left join judgements
        on events.event_id = judgements.event_id

),

final as (

    select
        message_id,
        recipient,
        row_number() over (
            partition by message_id, recipient
            order by event_at, lifecycle_rank, event_id
        ) as step,
        event_type,
        event_at,
        date_diff('second', sent_at, event_at) as seconds_since_sent,
        detail,
        engagement,
        event_id
    from described

)

select * from final
