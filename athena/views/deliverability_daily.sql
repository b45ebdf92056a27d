-- deliverability_daily: one row per UTC day of sending (the day of sent_at). Key: day.
-- Reads deliverability_by_provider (its rows for all providers together), where every figure is
-- defined. Counts are of (message_id, recipient) pairs. bounce_rate is bounced over sent, as in
-- every view. hard_bounce_rate is SES's reputation figure: the Permanent bounces SES counts (not
-- sends to an address on your account-level suppression list) over sent; complaint_rate is
-- complaints over delivered. The flags compare them with the SES account thresholds
-- (ses_thresholds: bounce rate 5% review / 10% pause, complaint rate 0.1% review / 0.5% pause).
-- suppressed: bounces SES made up itself for addresses on a suppression list.
create or replace view deliverability_daily as

with by_provider as (

    select * from deliverability_by_provider

),

final as (

    select
        day,
        sent,
        delivered,
        bounced,
        hard_bounced,
        suppressed,
        reputation_bounced,
        complained,
        bounce_rate,
        hard_bounce_rate,
        complaint_rate,
        is_bounce_review,
        is_bounce_pause,
        is_complaint_review,
        is_complaint_pause,
        reputation_status
    from by_provider
    where mailbox_provider = 'all'

)

select * from final
