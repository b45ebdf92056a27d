-- message_status: one row per (message_id, recipient), the pivot of its events.
-- Reads ses_events_unique. Key: message_id, recipient.
-- Columns: sent_at, delivered_at, first_delayed_at, delay_count, bounced_at, bounce_type,
-- bounce_subtype, complained_at, complaint_feedback_type, rejected_at, rendering_failed_at,
-- first_opened_at, open_count, first_clicked_at, click_count, unsubscribed_at,
-- seconds_to_deliver, seconds_to_open, seconds_to_click, outcome, the is_* counting flags
-- (the counting rules of docs/views.md, defined here once), the people-or-machines flags
-- (is_human_opened, is_human_clicked, is_machine_opened, is_bot_clicked,
-- first_human_opened_at, first_human_clicked_at: from the engagement view), is_suppressed and
-- is_reputation_bounce (bounces SES made up for suppressed addresses, and which bounces SES counts
-- in its bounce rate), recipient_domain, mailbox_provider and tenant, and the message's
-- subject, from_address, configuration_set and tags.
create or replace view message_status as

with events as (

    select * from ses_events_unique

),

-- What each pair's opens and clicks were judged (engagement holds the rules).
judged as (

    select
        message_id,
        recipient,
        min(if(event_type = 'open' and is_human, event_at)) as first_human_opened_at,
        min(if(event_type = 'click' and is_human, event_at)) as first_human_clicked_at,
        count_if(event_type = 'open' and not is_human) > 0 as is_machine_opened,
        count_if(event_type = 'click' and not is_human) > 0 as is_bot_clicked
    from engagement
    group by message_id, recipient

),

-- The bounce that decides bounce_type: Permanent over Transient over Undetermined, then earliest.
ranked_bounces as (

    select
        message_id,
        recipient,
        bounce_type,
        bounce_subtype,
        row_number() over (
            partition by message_id, recipient
            order by
                case bounce_type when 'Permanent' then 1 when 'Transient' then 2 else 3 end,
                event_at,
                event_id
        ) as bounce_rank
    from events
    where event_type = 'bounce'

),

first_bounces as (

    select message_id, recipient, bounce_type, bounce_subtype
    from ranked_bounces
    where bounce_rank = 1

),

ranked_complaints as (

    select
        message_id,
        recipient,
        complaint_feedback_type,
        row_number() over (
            partition by message_id, recipient
            order by event_at, event_id
        ) as complaint_rank
    from events
    where event_type = 'complaint'

),

first_complaints as (

    select message_id, recipient, complaint_feedback_type
    from ranked_complaints
    where complaint_rank = 1

),

pivoted as (

    select
        message_id,
        recipient,
        min(sent_at) as sent_at,
        min(if(event_type = 'delivery', event_at)) as delivered_at,
        min(if(event_type = 'delivery_delay', event_at)) as first_delayed_at,
        count_if(event_type = 'delivery_delay') as delay_count,
        min(if(event_type = 'bounce', event_at)) as bounced_at,
        max(if(event_type = 'bounce', event_at)) as last_bounced_at,
        count_if(event_type = 'bounce' and bounce_type = 'Permanent') > 0 as is_hard_bounced,
        count_if(event_type = 'bounce' and bounce_type = 'Transient') > 0 as has_transient_bounce,
        -- SES bounced it itself, the address being on a suppression list: the global one
        -- (Suppressed), the account's or a tenant's (On...SuppressionList).
        count_if(
            event_type = 'bounce'
            and (bounce_subtype = 'Suppressed' or bounce_subtype like 'On%SuppressionList')
        ) > 0 as is_suppressed,
        -- What SES counts in its reputation bounce rate: Permanent bounces, but not sends to an
        -- address on your own (account-level) suppression list.
        count_if(
            event_type = 'bounce'
            and bounce_type = 'Permanent'
            and coalesce(bounce_subtype not like 'On%SuppressionList', true)
        ) > 0 as is_reputation_bounce,
        max(if(event_type = 'delivery', smtp_response)) as delivery_smtp_response,
        min(if(event_type = 'complaint', event_at)) as complained_at,
        min(if(event_type = 'reject', event_at)) as rejected_at,
        min(if(event_type = 'rendering_failure', event_at)) as rendering_failed_at,
        min(if(event_type = 'open', event_at)) as first_opened_at,
        count_if(event_type = 'open') as open_count,
        min(if(event_type = 'click', event_at)) as first_clicked_at,
        count_if(event_type = 'click') as click_count,
        min(if(event_type = 'subscription' and is_opt_out, event_at)) as unsubscribed_at,
        count_if(event_type not in ('reject', 'rendering_failure')) > 0 as is_sent,
        arbitrary(subject) as subject,
        arbitrary(from_address) as from_address,
        arbitrary(configuration_set) as configuration_set,
        arbitrary(tags) as tags,
        arbitrary(element_at(tags, 'ses:tenant-name')[1]) as tenant
    from events
    group by message_id, recipient

),

flagged as (

    select
        pivoted.*,
        delivered_at is not null as is_delivered,
        bounced_at is not null as is_bounced,
        has_transient_bounce and not is_hard_bounced as is_soft_bounced,
        complained_at is not null as is_complained,
        rejected_at is not null as is_rejected,
        rendering_failed_at is not null as is_rendering_failed,
        first_delayed_at is not null as is_delayed,
        (open_count + click_count) > 0 as is_opened,
        click_count > 0 as is_clicked,
        unsubscribed_at is not null as is_unsubscribed
    from pivoted

),

final as (

    select
        flagged.message_id,
        flagged.recipient,
        flagged.sent_at,
        flagged.delivered_at,
        flagged.first_delayed_at,
        flagged.delay_count,
        flagged.bounced_at,
        first_bounces.bounce_type,
        first_bounces.bounce_subtype,
        flagged.complained_at,
        first_complaints.complaint_feedback_type,
        flagged.rejected_at,
        flagged.rendering_failed_at,
        flagged.first_opened_at,
        flagged.open_count,
        flagged.first_clicked_at,
        flagged.click_count,
        flagged.unsubscribed_at,
        date_diff('second', flagged.sent_at, flagged.delivered_at) as seconds_to_deliver,
        date_diff('second', flagged.sent_at, flagged.first_opened_at) as seconds_to_open,
        date_diff('second', flagged.sent_at, flagged.first_clicked_at) as seconds_to_click,
        case
            when flagged.is_complained then 'complained'
            when flagged.is_unsubscribed then 'unsubscribed'
            when flagged.is_clicked then 'clicked'
            when flagged.is_opened then 'opened'
            when flagged.is_bounced
                and (flagged.delivered_at is null or flagged.last_bounced_at > flagged.delivered_at)
                then 'bounced'
            when flagged.is_delivered then 'delivered'
            when flagged.is_delayed then 'delayed'
            when flagged.is_sent then 'sent'
            when flagged.is_rendering_failed then 'rendering_failed'
            when flagged.is_rejected then 'rejected'
        end as outcome,
        flagged.is_sent,
        flagged.is_delivered,
        flagged.is_bounced,
        flagged.is_hard_bounced,
        flagged.is_soft_bounced,
        flagged.is_complained,
        flagged.is_rejected,
        flagged.is_rendering_failed,
        flagged.is_delayed,
        flagged.is_opened,
        flagged.is_clicked,
        flagged.is_unsubscribed,
        -- A person's click proves a person's open (as is_opened counts any click).
        coalesce(
            judged.first_human_opened_at is not null or judged.first_human_clicked_at is not null,
            false
        ) as is_human_opened,
        coalesce(judged.first_human_clicked_at is not null, false) as is_human_clicked,
        coalesce(judged.is_machine_opened, false) as is_machine_opened,
        coalesce(judged.is_bot_clicked, false) as is_bot_clicked,
        judged.first_human_opened_at,
        judged.first_human_clicked_at,
        flagged.is_suppressed,
        flagged.is_reputation_bounce,
        domains.recipient_domain,
        case
            when regexp_like(domains.recipient_domain, '^(gmail\.com|googlemail\.com)$')
                then 'google'
            when regexp_like(
                domains.recipient_domain, '^(outlook\.com|hotmail\..+|live\..+|msn\.com)$'
            ) then 'microsoft'
            when regexp_like(
                domains.recipient_domain, '^(yahoo\..+|ymail\.com|rocketmail\.com|aol\.com)$'
            ) then 'yahoo'
            when domains.recipient_domain in ('icloud.com', 'me.com', 'mac.com') then 'apple'
            -- A company domain hosted by Google Workspace or Microsoft 365, by the MX that
            -- accepted the delivery.
            when regexp_like(coalesce(flagged.delivery_smtp_response, ''), 'gsmtp') then 'google'
            when regexp_like(
                coalesce(flagged.delivery_smtp_response, ''), '(?i)outlook\.com'
            ) then 'microsoft'
            else 'other'
        end as mailbox_provider,
        flagged.tenant,
        flagged.subject,
        flagged.from_address,
        flagged.configuration_set,
        flagged.tags
    from flagged
    left join first_bounces
        on flagged.message_id = first_bounces.message_id
        and flagged.recipient = first_bounces.recipient
    left join first_complaints
        on flagged.message_id = first_complaints.message_id
        and flagged.recipient = first_complaints.recipient
    left join judged
        on flagged.message_id = judged.message_id
        and flagged.recipient = judged.recipient
    cross join unnest(
        array[lower(substr(flagged.recipient, strpos(flagged.recipient, '@') + 1))]
    ) as domains (recipient_domain)

)

select * from final
