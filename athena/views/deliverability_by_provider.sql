-- deliverability_by_provider: one row per UTC day of sending and mailbox provider
-- (message_status.mailbox_provider: google, microsoft, yahoo, apple, other), plus one row per
-- day for all providers together (mailbox_provider 'all'), which deliverability_daily reads:
-- the figures are defined here once. Key: day, mailbox_provider.
-- Reads message_status. Counts are of (message_id, recipient) pairs. bounce_rate is bounced
-- over sent, as in every view. hard_bounce_rate is SES's reputation figure: the Permanent
-- bounces SES counts (not sends to an address on your account-level suppression list) over
-- sent; complaint_rate is complaints over delivered. The flags compare them with the SES
-- account thresholds (ses_thresholds: bounce rate 5% review / 10% pause, complaint rate 0.1%
-- review / 0.5% pause). suppressed: bounces SES made up itself for addresses on a suppression
-- list.
create or replace view deliverability_by_provider as

with statuses as (

    select * from message_status

),

counted as (

    select
        date(sent_at) as day,
        if(grouping(mailbox_provider) = 1, 'all', mailbox_provider) as mailbox_provider,
        count_if(is_sent) as sent,
        count_if(is_delivered) as delivered,
        count_if(is_bounced) as bounced,
        count_if(is_hard_bounced) as hard_bounced,
        count_if(is_suppressed) as suppressed,
        count_if(is_reputation_bounce) as reputation_bounced,
        count_if(is_complained) as complained
    from statuses
    group by grouping sets ((date(sent_at)), (date(sent_at), mailbox_provider))

),

rated as (

    select
        counted.*,
        cast(bounced as double) / nullif(sent, 0) as bounce_rate,
        cast(reputation_bounced as double) / nullif(sent, 0) as hard_bounce_rate,
        cast(complained as double) / nullif(delivered, 0) as complaint_rate
    from counted

),

final as (

    select
        day,
        mailbox_provider,
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
        hard_bounce_rate >= bounce_review as is_bounce_review,
        hard_bounce_rate >= bounce_pause as is_bounce_pause,
        complaint_rate >= complaint_review as is_complaint_review,
        complaint_rate >= complaint_pause as is_complaint_pause,
        case
            when hard_bounce_rate >= bounce_pause or complaint_rate >= complaint_pause
                then 'pause'
            when hard_bounce_rate >= bounce_review or complaint_rate >= complaint_review
                then 'review'
            else 'ok'
        end as reputation_status
    from rated
    cross join ses_thresholds

)

select * from final
