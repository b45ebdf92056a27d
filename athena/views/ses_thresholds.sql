-- ses_thresholds: one row per SES account (this one), so no key: the thresholds, written here once for
-- every view that compares rates with them. SES reviews an account at a 5% bounce rate or a 0.1% complaint
-- rate and may pause its sending at 10% or 0.5%
-- (https://docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html).
create or replace view ses_thresholds as

with final as (

    select
        0.05 as bounce_review,
        0.10 as bounce_pause,
        0.001 as complaint_review,
        0.005 as complaint_pause

)

select * from final
