import {
  Alert,
  Button,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Table,
  Tabs,
  TextInput,
  Textarea,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useSession } from '../auth/session-context.tsx';
import { graphql, type ResultOf } from '../graphql.ts';
import { RequireCapability } from '../shell/require.tsx';
import { EmptyState, ErrorState, LoadingState } from '../shell/states.tsx';
import { usePageTitle } from '../shell/use-page-title.ts';

const CatalogQuery = graphql(`
  query Catalog {
    sources {
      id
      code
      name
      kind
      owner
      steward
      description
      contact
      trustRank
      active
    }
    fields {
      id
      name
      dataType
      phiClass
      goldenField
      glossaryTerms
      source {
        code
      }
      dataset {
        name
      }
    }
    glossary {
      term
      definition
    }
  }
`);

const UpdateSourceMutation = graphql(`
  mutation UpdateSource($code: String!, $input: UpdateSourceInput!) {
    updateSource(code: $code, input: $input) {
      id
      code
      name
      owner
      steward
      description
      trustRank
    }
  }
`);

const ClassifyFieldMutation = graphql(`
  mutation ClassifyField($input: ClassifyFieldInput!) {
    classifyField(input: $input) {
      id
      phiClass
    }
  }
`);

const DefineTermMutation = graphql(`
  mutation DefineTerm($term: String!, $definition: String!) {
    defineGlossaryTerm(term: $term, definition: $definition) {
      term
      definition
    }
  }
`);

type Source = ResultOf<typeof CatalogQuery>['sources'][number];
const PHI_CLASSES = ['DIRECT_IDENTIFIER', 'QUASI_IDENTIFIER', 'NONE'] as const;

function SourceEditor({ source, onClose }: { source: Source | null; onClose: () => void }) {
  const session = useSession();
  const [draft, setDraft] = useState<Partial<Source>>({});
  const [result, update] = useMutation(UpdateSourceMutation);
  if (!source) return null;
  const value = <K extends keyof Source>(key: K) => (draft[key] ?? source[key]) as Source[K];
  const save = async () => {
    const input = {
      name: value('name'),
      owner: value('owner'),
      steward: value('steward'),
      description: value('description'),
      ...(session.can('editTrustRank') ? { trustRank: value('trustRank') } : {}),
    };
    const r = await update({ code: source.code, input });
    if (!r.error) {
      setDraft({});
      onClose();
    }
  };
  return (
    <Modal opened onClose={onClose} title={`Edit source ${source.code}`}>
      <Stack>
        <TextInput
          label="Name"
          value={value('name')}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, name: v }));
          }}
        />
        <TextInput
          label="Owner"
          value={value('owner') ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, owner: v }));
          }}
        />
        <TextInput
          label="Steward"
          value={value('steward') ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, steward: v }));
          }}
        />
        <Textarea
          label="Description"
          value={value('description') ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value;
            setDraft((d) => ({ ...d, description: v }));
          }}
        />
        <NumberInput
          label="Trust rank (admin)"
          min={0}
          max={100}
          value={value('trustRank')}
          disabled={!session.can('editTrustRank')}
          description={
            session.can('editTrustRank')
              ? 'Changing it recomputes the golden records this source feeds.'
              : 'Only an admin may change trust.'
          }
          onChange={(v) => setDraft((d) => ({ ...d, trustRank: Number(v) }))}
        />
        {result.error && <ErrorState error={result.error} title="Not saved" />}
        <Group justify="flex-end">
          <Button onClick={save} loading={result.fetching}>
            Save
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function Catalog() {
  const session = useSession();
  const canEdit = session.can('editCatalog');
  const [{ data, fetching, error }, reexecute] = useQuery({ query: CatalogQuery });
  const [editing, setEditing] = useState<Source | null>(null);
  const [classify, runClassify] = useMutation(ClassifyFieldMutation);
  const [define, runDefine] = useMutation(DefineTermMutation);
  const [term, setTerm] = useState({ term: '', definition: '' });
  if (error && !data) return <ErrorState error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />;
  if (fetching && !data) return <LoadingState label="Loading the catalog" />;
  if (!data) return null;
  return (
    <Stack>
      <Title order={2}>Catalog</Title>
      {!canEdit && <Alert color="gray">Read only for your role.</Alert>}
      <Tabs defaultValue="sources" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="sources">Sources ({data.sources.length})</Tabs.Tab>
          <Tabs.Tab value="fields">Fields ({data.fields.length})</Tabs.Tab>
          <Tabs.Tab value="glossary">Glossary ({data.glossary.length})</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="sources" pt="md">
          {data.sources.length === 0 ? (
            <EmptyState>No sources registered.</EmptyState>
          ) : (
            <Table striped aria-label="Sources" data-testid="sources-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Code</Table.Th>
                  <Table.Th scope="col">Name</Table.Th>
                  <Table.Th scope="col">Kind</Table.Th>
                  <Table.Th scope="col">Owner</Table.Th>
                  <Table.Th scope="col">Steward</Table.Th>
                  <Table.Th scope="col">Trust</Table.Th>
                  <Table.Th scope="col">Status</Table.Th>
                  <Table.Th scope="col">
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.sources.map((s) => (
                  <Table.Tr key={s.id}>
                    <Table.Td>{s.code}</Table.Td>
                    <Table.Td>{s.name}</Table.Td>
                    <Table.Td>{s.kind}</Table.Td>
                    <Table.Td>{s.owner ?? '—'}</Table.Td>
                    <Table.Td>{s.steward ?? '—'}</Table.Td>
                    <Table.Td>{s.trustRank}</Table.Td>
                    <Table.Td>{s.active ? 'active' : 'inactive'}</Table.Td>
                    <Table.Td>
                      {canEdit && (
                        <Button size="compact-xs" variant="light" onClick={() => setEditing(s)} aria-label={`Edit ${s.code}`}>
                          Edit
                        </Button>
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Tabs.Panel>
        <Tabs.Panel value="fields" pt="md">
          {classify.error && <ErrorState error={classify.error} title="Not saved" />}
          <Table striped aria-label="Fields">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Source</Table.Th>
                <Table.Th scope="col">Dataset</Table.Th>
                <Table.Th scope="col">Field</Table.Th>
                <Table.Th scope="col">Type</Table.Th>
                <Table.Th scope="col">PHI class</Table.Th>
                <Table.Th scope="col">Golden field</Table.Th>
                <Table.Th scope="col">Terms</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.fields.map((f) => (
                <Table.Tr key={f.id}>
                  <Table.Td>{f.source.code}</Table.Td>
                  <Table.Td>{f.dataset.name}</Table.Td>
                  <Table.Td>{f.name}</Table.Td>
                  <Table.Td>{f.dataType}</Table.Td>
                  <Table.Td>
                    {canEdit ? (
                      <Select
                        size="xs"
                        aria-label={`PHI class of ${f.source.code}.${f.name}`}
                        data={[...PHI_CLASSES]}
                        value={f.phiClass}
                        allowDeselect={false}
                        onChange={(v) =>
                          v &&
                          runClassify({
                            input: {
                              source: f.source.code,
                              dataset: f.dataset.name,
                              field: f.name,
                              phiClass: v as (typeof PHI_CLASSES)[number],
                            },
                          })
                        }
                      />
                    ) : (
                      f.phiClass
                    )}
                  </Table.Td>
                  <Table.Td>{f.goldenField ?? '—'}</Table.Td>
                  <Table.Td>{f.glossaryTerms.join(', ') || '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Tabs.Panel>
        <Tabs.Panel value="glossary" pt="md">
          <Stack>
            {data.glossary.length === 0 && <EmptyState>No glossary terms yet.</EmptyState>}
            {data.glossary.length > 0 && (
              <Table aria-label="Glossary">
                <Table.Tbody>
                  {data.glossary.map((g) => (
                    <Table.Tr key={g.term}>
                      <Table.Th scope="row">{g.term}</Table.Th>
                      <Table.Td>{g.definition}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
            {canEdit && (
              <Group
                align="flex-end"
                component="form"
                onSubmit={async (e) => {
                  e.preventDefault();
                  const r = await runDefine(term);
                  if (!r.error) {
                    setTerm({ term: '', definition: '' });
                    reexecute({ requestPolicy: 'network-only' });
                  }
                }}
              >
                <TextInput
                  label="Term"
                  value={term.term}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    setTerm((t) => ({ ...t, term: v }));
                  }}
                  required
                />
                <TextInput
                  label="Definition"
                  w={420}
                  value={term.definition}
                  onChange={(e) => {
                    const v = e.currentTarget.value;
                    setTerm((t) => ({ ...t, definition: v }));
                  }}
                  required
                />
                <Button type="submit" loading={define.fetching}>
                  Define term
                </Button>
              </Group>
            )}
            {define.error && <ErrorState error={define.error} title="Not saved" />}
          </Stack>
        </Tabs.Panel>
      </Tabs>
      <SourceEditor
        source={editing}
        onClose={() => {
          setEditing(null);
          reexecute({ requestPolicy: 'network-only' });
        }}
      />
    </Stack>
  );
}

export function Component() {
  usePageTitle('Catalog');
  return (
    <RequireCapability capability="readCatalog">
      <Catalog />
    </RequireCapability>
  );
}
