-- An identity retired because its only live record joined another identity kept the links of its deleted
-- records, and such a record sent again came back inside the retired identity. Every merge now moves all of
-- an identity's links to its survivor; this moves the ones left behind before that, to the live identity the
-- retired one redirects to.
UPDATE "links" AS l
SET "identity_id" = retired."merged_into", "updated_at" = now()
FROM "identities" AS retired
JOIN "identities" AS survivor ON survivor."id" = retired."merged_into"
WHERE l."identity_id" = retired."id"
  AND retired."status" = 'MERGED'
  AND survivor."status" = 'ACTIVE';
